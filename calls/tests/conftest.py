import pytest
import time_machine

# Registers the "scripted" test engine in the dialogue registry.
import calls.tests.engines  # noqa: F401
from bookings.tests.factories import BusinessFactory, ServiceFactory, acreate
from calls.tests.conversation import demo_business
from calls.tests.test_desk_conversations import NOW


@pytest.fixture
def frozen_now(settings):
    """Demo Salon's frozen Wednesday, 2026-11-25 10:00 in New York, with the outbox run by the
    test itself and texts printed, not sent. Not autouse: a module that talks to the demo
    business asks for it (`pytest.mark.usefixtures("frozen_now")`); several modules have
    their own."""
    settings.OUTBOX_RUN_IN_PROCESS = False  # the tests run the outbox themselves
    settings.SMS_BACKEND = "console"
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
async def demo():
    return await demo_business()


@pytest.fixture
async def salon(transactional_db):
    business = await acreate(
        BusinessFactory, name="Maple Salon", slug="maple", transfer_number="+15555550999"
    )
    await acreate(ServiceFactory, business=business, name="Haircut", duration_minutes=30)
    return business
