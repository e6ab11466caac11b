"""The WSGI entry point: `gunicorn app:app`, `flask --app app run`."""
from governor import create_app

app = create_app()
