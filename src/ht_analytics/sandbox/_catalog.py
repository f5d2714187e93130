"""Static reference data for the sandbox generator.

Nothing here is random: the generator draws from these tables with its own seeded stream. All
names, streets, e-mail domains and phone numbers are fictional (``example.com`` and
``example.org`` domains, the ``555`` exchange only).
"""

from __future__ import annotations

from typing import Final, NamedTuple


class SkuSpec(NamedTuple):
    """One catalogue entry; the generator turns it into a SKU dict (see ``_model.Sku``)."""

    id: int
    name: str
    category: str
    price_cents: int
    remote: bool
    price_type: str
    """``"fixed"`` or ``"hourly"`` (hourly SKUs are booked per hour: quantity = hours)."""
    minutes: int
    """Estimated duration of one unit, in minutes (0 for a physical product)."""
    physical_product: bool
    weight: float
    """Relative popularity when the generator picks services."""
    coverage: float
    """Share of the ZIP prefixes where the SKU is available (1.0 = everywhere)."""


PARTNER_NAME: Final = "Acme Electronics"
"""The partner that owns every sandbox order."""

_SKU_ROWS: Final[dict[str, tuple[tuple[int, str, int, str, int, float, float], ...]]] = {
    # category: (id, name, price in cents, kind, minutes per unit, popularity, ZIP coverage)
    # kind: "onsite", "remote" (remote support, fixed price), "hourly" (remote, per hour),
    # "product" (a physical product sold next to a service, no labour)
    "TV & Audio": (
        (10639, 'TV Mounting (up to 55")', 9999, "onsite", 90, 14.0, 1.0),
        (10640, 'TV Mounting (56" to 75")', 12999, "onsite", 105, 8.0, 1.0),
        (10641, 'TV Mounting (76" and larger)', 17999, "onsite", 120, 3.0, 0.95),
        (10642, "Over-the-Fireplace TV Mounting", 19999, "onsite", 150, 2.0, 0.9),
        (10643, "In-Wall Cable Concealment", 14999, "onsite", 90, 4.0, 0.97),
        (10644, "Soundbar Installation", 7999, "onsite", 60, 5.0, 1.0),
        (10645, "TV Setup (no mounting)", 6999, "onsite", 45, 3.0, 1.0),
        (10646, "Streaming Device Setup", 4999, "onsite", 30, 2.5, 1.0),
        (11301, "Tilting TV Wall Mount", 4999, "product", 0, 2.0, 1.0),
        (11302, "Full-Motion TV Wall Mount", 8999, "product", 0, 1.5, 1.0),
        (11303, "HDMI Cable (6 ft)", 1499, "product", 0, 1.5, 1.0),
    ),
    "Home Theater": (
        (10701, "Surround Sound Installation (5.1)", 24999, "onsite", 180, 2.0, 0.92),
        (10702, "Home Theater System Setup", 17999, "onsite", 150, 1.5, 0.92),
        (10703, "Projector Mounting", 14999, "onsite", 120, 1.0, 0.9),
        (10704, "Universal Remote Programming", 6999, "onsite", 45, 1.0, 1.0),
        (10705, "In-Ceiling Speaker Installation (pair)", 29999, "onsite", 210, 0.8, 0.8),
    ),
    "Wi-Fi & Networking": (
        (10801, "Wi-Fi Network Setup", 8999, "onsite", 60, 6.0, 1.0),
        (10802, "Mesh Wi-Fi System Installation", 12999, "onsite", 90, 4.0, 1.0),
        (10803, "Wi-Fi Range Extender Setup", 5999, "onsite", 45, 2.0, 1.0),
        (10804, "Ethernet Cable Run (per room)", 14999, "onsite", 120, 1.2, 0.85),
        (10805, "Remote Wi-Fi Troubleshooting", 4999, "hourly", 60, 2.5, 1.0),
        (11304, "Mesh Wi-Fi Router (3-pack)", 27999, "product", 0, 0.7, 1.0),
    ),
    "Smart Home": (
        (10901, "Smart Thermostat Installation", 11999, "onsite", 60, 5.0, 1.0),
        (10902, "Video Doorbell Installation", 9999, "onsite", 60, 6.0, 1.0),
        (10903, "Smart Lock Installation", 8999, "onsite", 60, 3.0, 1.0),
        (10904, "Smart Lighting Setup (up to 5 bulbs)", 7999, "onsite", 45, 2.0, 1.0),
        (10905, "Smart Switch Installation", 9999, "onsite", 60, 2.0, 0.9),
        (10906, "Smart Speaker & Voice Assistant Setup", 5999, "onsite", 30, 2.0, 1.0),
        (10907, "Smart Home Hub Setup", 8999, "onsite", 60, 1.0, 1.0),
        (10908, "Garage Door Controller Installation", 9999, "onsite", 60, 1.0, 0.75),
    ),
    "Security cameras": (
        (11001, "Outdoor Security Camera Installation", 12999, "onsite", 75, 4.0, 1.0),
        (11002, "Indoor Security Camera Setup", 6999, "onsite", 45, 2.5, 1.0),
        (11003, "Floodlight Camera Installation", 14999, "onsite", 90, 1.5, 0.9),
        (11004, "Security System Setup (up to 4 cameras)", 29999, "onsite", 180, 1.0, 0.85),
    ),
    "Computers & Printers": (
        (11101, "Computer Setup & Data Transfer", 12999, "onsite", 120, 2.5, 1.0),
        (11102, "Printer Setup", 6999, "onsite", 45, 2.0, 1.0),
        (11103, "Virus & Malware Removal", 9999, "remote", 90, 1.5, 1.0),
        (11104, "Remote Computer Support", 5999, "hourly", 60, 2.5, 1.0),
        (11105, "Computer Tune-Up", 7999, "remote", 60, 1.0, 1.0),
    ),
    "Mobile & Tablets": (
        (11201, "Smartphone Setup & Data Transfer", 4999, "onsite", 45, 2.0, 1.0),
        (11202, "Tablet Setup", 3999, "onsite", 30, 1.0, 1.0),
        (11203, "Remote Phone & Tablet Support", 2999, "hourly", 60, 1.5, 1.0),
        (11204, "Smartwatch Setup", 2999, "remote", 30, 0.6, 1.0),
    ),
}

SKUS: Final[tuple[SkuSpec, ...]] = tuple(
    sorted(
        (
            SkuSpec(
                id=sku_id,
                name=name,
                category=category,
                price_cents=cents,
                remote=kind in ("remote", "hourly"),
                price_type="hourly" if kind == "hourly" else "fixed",
                minutes=minutes,
                physical_product=kind == "product",
                weight=weight,
                coverage=coverage,
            )
            for category, rows in _SKU_ROWS.items()
            for sku_id, name, cents, kind, minutes, weight, coverage in rows
        ),
        key=lambda spec: spec.id,
    )
)
"""About 40 SKUs. Physical products are only added to orders next to a service."""


class State(NamedTuple):
    """A US state the sandbox's clients live in."""

    code: str
    zone: str
    """IANA time zone used for every order of a client in this state."""
    weight: float
    """Relative share of clients."""
    cities: tuple[tuple[str, str, str], ...]
    """``(city, 3-digit ZIP prefix, phone area code)``."""


STATES: Final[tuple[State, ...]] = (
    State(
        "CA",
        "America/Los_Angeles",
        16.0,
        (
            ("Los Angeles", "900", "213"),
            ("San Diego", "921", "619"),
            ("San Francisco", "941", "415"),
            ("San Jose", "951", "408"),
            ("Sacramento", "958", "916"),
            ("Oakland", "946", "510"),
        ),
    ),
    State(
        "TX",
        "America/Chicago",
        12.0,
        (
            ("Houston", "770", "713"),
            ("Dallas", "752", "214"),
            ("Austin", "787", "512"),
            ("San Antonio", "782", "210"),
        ),
    ),
    State(
        "FL",
        "America/New_York",
        9.0,
        (("Miami", "331", "305"), ("Orlando", "328", "407"), ("Tampa", "336", "813")),
    ),
    State(
        "NY",
        "America/New_York",
        9.0,
        (("New York", "100", "212"), ("Brooklyn", "112", "718"), ("Buffalo", "142", "716")),
    ),
    State(
        "IL",
        "America/Chicago",
        5.0,
        (("Chicago", "606", "312"), ("Naperville", "605", "630")),
    ),
    State(
        "PA",
        "America/New_York",
        5.0,
        (("Philadelphia", "191", "215"), ("Pittsburgh", "152", "412")),
    ),
    State(
        "GA",
        "America/New_York",
        4.0,
        (("Atlanta", "303", "404"), ("Savannah", "314", "912")),
    ),
    State(
        "NC",
        "America/New_York",
        4.0,
        (("Charlotte", "282", "704"), ("Raleigh", "276", "919")),
    ),
    State(
        "NJ",
        "America/New_York",
        3.5,
        (("Newark", "071", "973"), ("Jersey City", "073", "201")),
    ),
    State(
        "MA",
        "America/New_York",
        3.0,
        (("Boston", "021", "617"), ("Worcester", "016", "508")),
    ),
    State(
        "MI",
        "America/Detroit",
        3.0,
        (("Detroit", "482", "313"), ("Grand Rapids", "495", "616")),
    ),
    State(
        "WA",
        "America/Los_Angeles",
        3.0,
        (("Seattle", "981", "206"), ("Spokane", "992", "509")),
    ),
    State(
        "AZ",
        "America/Phoenix",
        3.0,
        (("Phoenix", "850", "602"), ("Tucson", "857", "520")),
    ),
    State(
        "CO",
        "America/Denver",
        2.5,
        (("Denver", "802", "303"), ("Colorado Springs", "809", "719")),
    ),
    State(
        "OR",
        "America/Los_Angeles",
        1.5,
        (("Portland", "972", "503"),),
    ),
    State(
        "HI",
        "Pacific/Honolulu",
        0.7,
        (("Honolulu", "968", "808"),),
    ),
)
"""16 states, with the zone of (most of) each state."""

STATE_ZONES: Final[dict[str, str]] = {s.code: s.zone for s in STATES}
"""State code -> IANA zone."""

ZIP_PREFIXES: Final[tuple[str, ...]] = tuple(
    sorted({prefix for s in STATES for _, prefix, _ in s.cities})
)
"""Every 3-digit ZIP prefix the sandbox serves."""


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    """Split a long literal into its words (keeps the tables compact)."""
    return tuple(text.split(sep))


STREET_NAMES: Final[tuple[str, ...]] = _words(
    "Main St|Oak Ave|Maple St|Cedar Ln|Pine St|Elm St|Washington Ave|Lake Dr|Hill Rd|"
    "Park Ave|Sunset Blvd|Flower St|Highland Ave|Church St|River Rd|Walnut St|Spring St|"
    "Chestnut St|Willow Way|Jefferson St|Lincoln Ave|Madison Ave|Franklin St|Broadway|"
    "Market St|Center St|Meadow Ln|Forest Dr|Ridge Rd|Valley View Dr|Harbor Blvd|Mission St|"
    "Grand Ave|Orchard Rd|Prospect Ave|Laurel St|Sycamore Ave|Aspen Ct|Bay St|College Ave",
    "|",
)

FIRST_NAMES: Final[tuple[str, ...]] = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily "
    "Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah "
    "Timothy Stephanie Ronald Rebecca Jason Laura Edward Sharon Jeffrey Cynthia Ryan Kathleen "
    "Jacob Amy Gary Angela Nicholas Shirley Eric Anna Jonathan Brenda Stephen Pamela Larry "
    "Emma Justin Nicole Scott Helen Brandon Samantha Benjamin Katherine Samuel Christine "
    "Gregory Debra Alexander Rachel Patrick Carolyn Frank Janet Raymond Maria Jack Olivia "
    "Dennis Heather Jerry Diane Tyler Julie Aaron Joyce Jose Victoria Adam Ruth Nathan "
    "Virginia Henry Lauren Zachary Kelly Douglas Christina Peter Joan Kyle Evelyn Noah Judith "
    "Ethan Andrea Jeremy Hannah Walter Megan Christian Cheryl Keith Jacqueline Roger Martha "
    "Terry Madison Austin Teresa Sean Gloria Gerald Sara Carl Janice Harold Ann Dylan Kathryn "
    "Arthur Abigail Lawrence Sophia Jordan Frances Jesse Jean Bryan Alice Billy Judy Bruce "
    "Isabella Gabriel Julia Joe Grace Logan Amber Alan Denise Juan Danielle Albert Marilyn "
    "Willie Beverly Elijah Charlotte Wayne Natalie Randy Theresa Mason Diana Vincent Brittany "
    "Liam Doris Roy Kayla Bobby Alexis Caleb Lori Bradley Marie Russell Priya Wei Mei Hiroshi "
    "Yuki Carlos Sofia Luis Camila Ahmed Fatima Omar Aisha Raj Ananya Kwame Amara"
)

LAST_NAMES: Final[tuple[str, ...]] = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed "
    "Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray "
    "Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez "
    "Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales "
    "Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds "
    "Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar "
    "Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington "
    "Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson "
    "Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer "
    "Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza "
    "Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley "
    "Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott "
    "Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry "
    "Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence "
    "Sandoval Wang Singh Yamamoto Okafor Haddad Kowalski O'Brien"
)

EMAIL_DOMAINS: Final[tuple[str, ...]] = ("example.com", "example.org")

AGENTS: Final[tuple[str, ...]] = (
    "Maria Lopez",
    "Kevin Park",
    "Dana Whitfield",
    "Marcus Reed",
    "Priya Raman",
    "Tom Alvarez",
    "Jill Summers",
    "Andre Baptiste",
)
"""The partner's call-centre agents who place phone orders."""

DEVICES: Final[tuple[str, ...]] = (
    'Samsung 55" QLED TV',
    'LG 65" OLED TV',
    'Sony 75" Bravia',
    'TCL 50" 4K TV',
    'Vizio 43" TV',
    "Sonos Arc",
    "Bose Smart Soundbar",
    "Google Nest Thermostat",
    "ecobee Smart Thermostat",
    "Ring Video Doorbell",
    "Arlo Pro 4",
    "eero 6+ Mesh",
    "Netgear Orbi",
    "iPhone 15",
    "Galaxy S24",
    "iPad Air",
    "HP LaserJet",
    "MacBook Air",
    "Dell XPS 13",
    "August Smart Lock",
)

STORE_TAGS: Final[tuple[str, ...]] = ("store_0412", "store_0587", "store_1123", "store_2290")
CHANNEL_TAGS: Final[tuple[str, ...]] = ("channel_web", "channel_store", "channel_phone")
CAMPAIGN_TAGS: Final[tuple[str, ...]] = (
    "campaign_black_friday",
    "campaign_holiday",
    "campaign_spring_refresh",
    "campaign_back_to_school",
)
UNUSED_TAG: Final = "campaign_unused"
"""A tag the partner defined but that no order carries."""

ALL_TAGS: Final[tuple[str, ...]] = (*CHANNEL_TAGS, *STORE_TAGS, *CAMPAIGN_TAGS, UNUSED_TAG)
"""The partner's 12 tags."""

MONTH_WEIGHTS: Final[tuple[float, ...]] = (
    0.95,
    0.88,
    0.95,
    0.97,
    0.92,
    0.76,
    0.72,
    0.85,
    0.96,
    1.02,
    1.42,
    1.55,
)
"""Relative order volume per calendar month (January first): a holiday peak, a summer dip."""

WEEKDAY_WEIGHTS: Final[tuple[float, ...]] = (1.06, 1.04, 1.0, 1.0, 0.97, 1.12, 0.62)
"""Relative order volume per weekday (Monday first): fewer on Sundays."""

CREATION_HOUR_WEIGHTS: Final[tuple[float, ...]] = (
    0.15,
    0.08,
    0.05,
    0.04,
    0.04,
    0.08,
    0.25,
    0.6,
    1.1,
    1.6,
    1.9,
    2.0,
    2.0,
    1.9,
    1.9,
    1.8,
    1.7,
    1.7,
    1.8,
    1.9,
    1.7,
    1.3,
    0.8,
    0.4,
)
"""Relative order volume per local hour of creation: daytime and early evening."""

SLOT_WEIGHTS: Final[tuple[float, ...]] = (
    # 08:00 .. 19:30, every half hour (24 slots)
    1.6,
    0.6,
    2.2,
    0.8,
    2.4,
    0.8,
    2.2,
    0.8,
    1.6,
    0.6,
    2.0,
    0.8,
    2.2,
    0.8,
    2.0,
    0.8,
    1.8,
    0.6,
    1.4,
    0.5,
    1.0,
    0.3,
    0.6,
    0.2,
)
"""Relative weight of each appointment start slot (08:00 .. 19:30 local)."""

LEAD_DAY_WEIGHTS: Final[tuple[float, ...]] = (
    # 1 .. 14 days between creation and appointment
    6.0,
    10.0,
    12.0,
    11.0,
    10.0,
    9.0,
    9.0,
    6.0,
    5.0,
    4.0,
    3.5,
    3.0,
    3.0,
    4.0,
)

SERVICE_ADJUSTMENTS: Final[tuple[tuple[str, str, int, int], ...]] = (
    # (name, details, fixed cents or 0, percent or 0); a negative value is a discount
    ("Bundle discount", "Booked together with another service", -1000, 0),
    ("Promotional price", "Limited-time partner promotion", 0, -15),
    ("Wall type surcharge", "Brick, stone or tile wall", 2500, 0),
    ("Additional device", "One more device of the same kind", 2000, 0),
    ("Member discount", "Partner membership benefit", 0, -10),
    ("Price match", "Matched a competitor's advertised price", -500, 0),
)

FEES: Final[tuple[tuple[int, str, int, str], ...]] = (
    # (feeId, name, cents, explanation)
    (1, "Trip charge", 2900, "Travel to locations outside the standard service area"),
    (2, "After-hours fee", 3900, "Appointment starting at 18:00 or later"),
    (3, "Service fee", 999, "Booking and support fee"),
    (4, "Weekend fee", 1900, "Appointment on a Saturday or Sunday"),
)

DISCOUNTS: Final[tuple[tuple[str, int, int, str], ...]] = (
    # (name, fixed cents, percent, explanation) - both as positive magnitudes
    ("Multi-service discount", 0, 10, "10% off when booking two or more services"),
    ("Loyalty discount", 1500, 0, "Returning customer"),
    ("Goodwill credit", 2500, 0, "Credit for a previous service issue"),
)

COUPONS: Final[tuple[tuple[str, int, int], ...]] = (
    # (code, fixed cents, percent) - positive magnitudes
    ("SAVE20", 2000, 0),
    ("WELCOME10", 0, 10),
    ("TECH15", 0, 15),
    ("HOLIDAY25", 2500, 0),
    ("FIRST50", 5000, 0),
)
