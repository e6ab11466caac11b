"""Print Governor's OpenAPI document exactly as the app serves it at GET /openapi.json.

Run by `npm run generate` (with the project's venv python, or $PYTHON); builds the app with a
throwaway configuration and touches no database."""
import json
import sys

from governor import create_app
from governor.config import Settings

settings = Settings(env="test", database_url="sqlite://", jwt_secret="openapi-export-" + "0" * 32, scheduler=False)
answer = create_app(settings).test_client().get("/openapi.json")
if answer.status_code != 200:
    sys.exit(f"GET /openapi.json answered {answer.status_code}")
json.dump(answer.get_json(), sys.stdout, indent=2)
sys.stdout.write("\n")
