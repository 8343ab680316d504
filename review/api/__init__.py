"""The REST API (/api/v1/): the same journeys as the web pages, through the same services and permissions."""
