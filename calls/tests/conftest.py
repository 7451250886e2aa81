import pytest

# Registers the "scripted" test engine in the dialogue registry.
import calls.tests.engines  # noqa: F401
from bookings.tests.factories import BusinessFactory, ServiceFactory, acreate


@pytest.fixture
async def salon(transactional_db):
    business = await acreate(
        BusinessFactory, name="Maple Salon", slug="maple", transfer_number="+15555550999"
    )
    await acreate(ServiceFactory, business=business, name="Haircut", duration_minutes=30)
    return business
