"""Generated clients: a draft drawn from the random stream, then the documented Client object.

A ``_ClientDraft`` holds a client's name, address, phone, time zone, store tag and whether a password
is set. It becomes a Client (``to_client``) when its first order gives it an id, so client ids follow
the order of first orders.
"""

from __future__ import annotations

import random
import re

from ht_analytics.sandbox import _catalog as cat
from ht_analytics.sandbox._model import Client
from ht_analytics.sandbox._sampling import _draw


def _slug(name: str) -> str:
    """Lower-case letters of a name, for e-mail addresses (``"O'Brien"`` -> ``"obrien"``)."""
    return re.sub(r"[^a-z]", "", name.lower())


class _ClientDraft:
    """A client before it gets its id (ids follow the order of first orders)."""

    __slots__ = (
        "city",
        "first",
        "has_password",
        "last",
        "name",
        "phone",
        "prefix",
        "state",
        "store",
        "street",
        "zip",
        "zone",
    )

    def __init__(self, rng: random.Random, state_cum: list[float]) -> None:
        state_index = _draw(rng, state_cum)
        state = cat.STATES[state_index]
        city, prefix, area = state.cities[rng.randrange(len(state.cities))]
        self.first = cat.FIRST_NAMES[rng.randrange(len(cat.FIRST_NAMES))]
        self.last = cat.LAST_NAMES[rng.randrange(len(cat.LAST_NAMES))]
        self.name = f"{self.first} {self.last}"
        self.state = state.code
        self.zone = state.zone
        self.city = city
        self.prefix = prefix
        self.zip = f"{prefix}{rng.randrange(100):02d}"
        street = cat.STREET_NAMES[rng.randrange(len(cat.STREET_NAMES))]
        self.street = f"{rng.randrange(1, 9900)} {street}"
        self.phone = f"{area}555{rng.randrange(10_000):04d}"
        self.has_password = rng.random() < 0.62
        self.store = cat.STORE_TAGS[(state_index + rng.randrange(2)) % len(cat.STORE_TAGS)]

    def to_client(self, client_id: int, seq: int, rng: random.Random) -> Client:
        """The documented Client object."""
        domain = cat.EMAIL_DOMAINS[1 if seq % 3 == 0 else 0]
        return {
            "id": client_id,
            "external_id": f"EXT-{seq:06d}",
            "first_name": self.first,
            "last_name": self.last,
            "email": f"{_slug(self.first)}.{_slug(self.last)}{seq}@{domain}",
            "phone": self.phone,
            "full_address": f"{self.street}, {self.city}, {self.state} {self.zip}",
            "address": {
                "city": self.city,
                "state": self.state,
                "zip": self.zip,
                "street": self.street,
            },
            "authentication_token": f"{rng.getrandbits(160):040x}",
        }
