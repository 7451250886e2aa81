import pytest

from bookings.tests.factories import BusinessFactory, ServiceFactory


@pytest.fixture
def business(db):
    return BusinessFactory()


@pytest.fixture
def haircut(business):
    return ServiceFactory(business=business, name="Haircut", duration_minutes=30)
