import json

from django.db import models

from .chain import canonical_json


class CanonicalJSONField(models.TextField):
    """JSON kept as its canonical text, so the database gives back exactly the text that was hashed.

    (A JSON column would not: PostgreSQL's jsonb reorders keys and respaces what it returns.)
    """

    def from_db_value(self, value, expression, connection):
        return None if value is None else json.loads(value)

    def to_python(self, value):
        return json.loads(value) if isinstance(value, str) else value

    def get_prep_value(self, value):
        return None if value is None else canonical_json(value)

    def value_to_string(self, obj):
        return canonical_json(self.value_from_object(obj))
