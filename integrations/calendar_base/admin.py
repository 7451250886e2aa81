"""The business's admin page gets every calendar integration's section (sections.py)."""

from bookings.admin import BusinessAdmin

BusinessAdmin.change_form_template = "calendar_base/admin/business_change_form.html"
