"""`manage.py ensure_admin`: make sure a staff login exists and say how to sign in."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

PASSWORD_FILE = settings.BASE_DIR / "var" / "admin-password.txt"


class Command(BaseCommand):
    help = "Create the 'admin' superuser with a random password (kept in var/) if none exists."

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        if not User.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser("admin", "admin@example.com", password)
            PASSWORD_FILE.parent.mkdir(parents=True, exist_ok=True)
            PASSWORD_FILE.write_text(password + "\n")
            PASSWORD_FILE.chmod(0o600)
            self.stdout.write(f"Created superuser 'admin' (password saved in {PASSWORD_FILE}).")
        if PASSWORD_FILE.exists():
            self.stdout.write(
                f"Sign in as: admin / {PASSWORD_FILE.read_text().strip()}  (unless you changed it)"
            )
        else:
            self.stdout.write("Sign in with your existing superuser (manage.py changepassword).")
