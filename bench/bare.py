"""The baseline: a bare Flask app answering a small JSON object, served like Governor."""
from flask import Flask

app = Flask(__name__)


@app.get("/healthz")
def healthz():
    return {"status": "ok"}
