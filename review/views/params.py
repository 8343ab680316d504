"""Reading ids from a request's parameters without trusting them."""


def id_param(value) -> int | None:
    """Return `value` as a row id when it is plainly one (ASCII digits that fit a big integer), else None."""
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 19 else None
