"""The project's own pages: the landing page at `/`, `/healthz`, and the docs as text."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from bookings.models import Business
from receptionist import health


def doc_files() -> dict[str, object]:
    """The docs a newcomer reads, by URL name: the README and docs/*.md. Only these files
    are ever served."""
    files = {"README.md": settings.BASE_DIR / "README.md"}
    for path in sorted((settings.BASE_DIR / "docs").glob("*.md")):
        files[f"docs/{path.name}"] = path
    return {name: path for name, path in files.items() if path.is_file()}


@require_safe
@never_cache
def home(request: HttpRequest) -> HttpResponse:
    checks = health.all_checks()
    database_ok = all(check.ok for check in checks if check.name == "database")
    # With the database down the page still answers, saying so.
    businesses = (
        list(Business.objects.filter(is_active=True).only("name", "slug")) if database_ok else []
    )
    return render(
        request,
        "home.html",
        {
            "checks": checks,
            "healthy": health.healthy(checks),
            "businesses": businesses,
            "docs": list(doc_files()),
            "public_base_url": settings.PUBLIC_BASE_URL,
        },
    )


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: 200 when this process can serve calls, 503 naming what fails."""
    checks = health.all_checks()
    ok = health.healthy(checks)
    body = {
        "status": "ok" if ok else "failing",
        "checks": {
            check.name: {"ok": check.ok, "detail": check.detail, "critical": check.critical}
            for check in checks
        },
    }
    return JsonResponse(body, status=200 if ok else 503)


@require_safe
def doc(request: HttpRequest, name: str) -> HttpResponse:
    path = doc_files().get(name)
    if path is None:
        raise Http404("No such document.")
    return HttpResponse(path.read_text(encoding="utf-8"), content_type="text/plain; charset=utf-8")
