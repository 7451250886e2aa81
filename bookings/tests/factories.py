from datetime import time

import factory
from asgiref.sync import sync_to_async

from bookings.models import Booking, Business, OpeningHours, Service


class BusinessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Business
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Salon {n}")
    slug = factory.Sequence(lambda n: f"salon-{n}")
    timezone = "America/New_York"
    phone_number = factory.Sequence(lambda n: f"+1555555{n:04d}")
    min_notice_minutes = 60
    horizon_days = 60

    @factory.post_generation
    def hours(self, create, extracted, **kwargs):
        """Mon-Fri 09:00-18:00, Sat 10:00-16:00 unless `hours=[(weekday, opens, closes)]`."""
        if not create:
            return
        spec = extracted
        if spec is None:
            spec = [(d, time(9), time(18)) for d in range(5)] + [(5, time(10), time(16))]
        for weekday, opens, closes in spec:
            OpeningHours.objects.create(business=self, weekday=weekday, opens=opens, closes=closes)


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    business = factory.SubFactory(BusinessFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    duration_minutes = 30


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking

    business = factory.LazyAttribute(lambda o: o.service.business)
    service = factory.SubFactory(ServiceFactory)
    customer_name = "Maria"
    customer_phone = "+15555550123"
    start = None  # required: pass an aware datetime
    end = factory.LazyAttribute(lambda o: o.start + o.service.duration)
    provider = "native"


async def acreate(factory_class: type[factory.django.DjangoModelFactory], **fields):
    """Create through a factory from async tests (factory-boy is synchronous)."""
    return await sync_to_async(factory_class.create)(**fields)
