"""The landing page, /healthz and the docs: what a newcomer and a load balancer see."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.utils import OperationalError
from django.test import Client
from django.utils import timezone

from bookings import heartbeat
from bookings.models import WorkerHeartbeat
from bookings.tests.factories import BusinessFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_worker():
    heartbeat.beat("host:1", started_at=timezone.now())


def test_landing_page_says_what_runs_and_links_admin_simulator_and_docs(live_worker):
    BusinessFactory(name="Maple Salon", slug="maple")
    page = Client().get("/")
    assert page.status_code == 200
    html = page.content.decode()
    for link in ('href="/admin/"', 'href="/simulator/"', 'href="/docs/README.md"'):
        assert link in html
    assert "Ready to take calls" in html
    assert "/voice/incoming/maple/" in html
    assert html.count(">OK<") == 3  # database, channel layer, worker


def test_admin_view_site_lands_on_the_landing_page(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert '<a href="/">View site</a>' in html
    assert admin_client.get("/").status_code == 200


def test_healthz_is_200_with_every_part_named():
    heartbeat.beat("host:1", started_at=timezone.now())
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "channel layer": True,
        "worker": True,
    }


def test_healthz_is_503_naming_the_database_and_no_secret(monkeypatch, settings):
    settings.SECRET_KEY = "s3cret-key-never-shown"

    def broken(*args, **kwargs):
        raise OperationalError(f'password authentication failed for "{settings.SECRET_KEY}"')

    monkeypatch.setattr("receptionist.health.connection.cursor", broken)
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["checks"]["database"] == {
        "ok": False,
        "detail": "unreachable (OperationalError)",
        "critical": True,
    }
    assert "s3cret" not in response.content.decode()
    page = Client().get("/")
    assert "Not ready" in page.content.decode() and "s3cret" not in page.content.decode()


def test_healthz_is_503_when_the_channel_layer_fails(monkeypatch):
    class DeadLayer:
        async def new_channel(self, prefix):
            raise ConnectionError("redis://:hunter2@10.0.0.5:6379 refused")

    monkeypatch.setattr("receptionist.health.get_channel_layer", lambda: DeadLayer())
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["channel layer"]["detail"] == "no round trip (ConnectionError)"
    assert "hunter2" not in response.content.decode()


def test_a_dead_worker_is_reported_but_keeps_the_web_process_in_service():
    WorkerHeartbeat.objects.create(
        worker="host:2",
        started_at=timezone.now() - timedelta(hours=1),
        seen_at=timezone.now() - timedelta(minutes=10),
    )
    response = Client().get("/healthz")
    assert response.status_code == 200
    worker = response.json()["checks"]["worker"]
    assert worker["ok"] is False and worker["critical"] is False
    assert worker["detail"].startswith("last heartbeat 6")
    assert "Warning" in Client().get("/").content.decode()


def test_no_worker_ever_is_said_plainly():
    worker = Client().get("/healthz").json()["checks"]["worker"]
    assert worker == {"ok": False, "detail": "no run_worker has reported in", "critical": False}


def test_run_worker_records_a_heartbeat_and_removes_it_when_it_stops(monkeypatch):
    seen = []
    real_beat = heartbeat.beat

    def beat(name, **kwargs):
        real_beat(name, **kwargs)
        seen.append(WorkerHeartbeat.objects.get(worker=name).seen_at)

    monkeypatch.setattr(heartbeat, "beat", beat)
    call_command("run_worker", "--once", stdout=StringIO())
    assert len(seen) == 1 and timezone.now() - seen[0] < timedelta(seconds=30)
    assert not WorkerHeartbeat.objects.exists()  # a clean stop is not a live worker


def test_docs_are_served_as_text_and_nothing_else_is():
    readme = Client().get("/docs/README.md")
    assert readme.status_code == 200
    assert readme["Content-Type"] == "text/plain; charset=utf-8"
    assert b"# Receptionist" in readme.content
    for path in ("/docs/manage.py", "/docs/../manage.py", "/docs/receptionist/settings.py"):
        assert Client().get(path).status_code == 404


def test_startup_banner_prints_the_start_page_and_the_simulator():
    out = StringIO()
    call_command("show_urls_banner", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000/simulator/" in text
    assert "http://127.0.0.1:8000/ " in text or "http://127.0.0.1:8000/\n" in text
    assert "/healthz" in text
