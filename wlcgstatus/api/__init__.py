"""The JSON API with its OpenAPI schema: read access to everything the dashboard shows, and one
write, a site's capability values, with an API token of that site."""
