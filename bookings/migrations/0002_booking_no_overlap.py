"""No two confirmed bookings of a business overlap: the database says so, on Postgres.

An exclusion constraint over (business, [start, end)) for confirmed rows; needs btree_gist
for the equality part. SQLite has no such constraint: there bookings.services.book_slot
checks and inserts inside one IMMEDIATE (write-locked) transaction.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE bookings_booking ADD CONSTRAINT booking_no_overlap
    EXCLUDE USING gist (business_id WITH =, tstzrange("start", "end", '[)') WITH &&)
    WHERE (status = 'confirmed');
"""
DROP = "ALTER TABLE bookings_booking DROP CONSTRAINT IF EXISTS booking_no_overlap;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("bookings", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
