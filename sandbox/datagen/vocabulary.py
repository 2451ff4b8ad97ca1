"""The words and places a generated organization is drawn from, and Mobilize's enums.

Pure data: tuples and dicts that the generators choose from with the dataset's one random
stream (``draws.py``). Their order is part of the dataset: reordering an entry changes
every dataset after it, byte for byte.
"""

from __future__ import annotations

PRIVATE_ADDRESS_PLACEHOLDER = "This event’s address is private. Sign up for more details"

COMMON_EVENT_TYPES = (
    "CANVASS",
    "PHONE_BANK",
    "TEXT_BANK",
    "MEETING",
    "COMMUNITY",
    "FUNDRAISER",
    "MEET_GREET",
    "HOUSE_PARTY",
    "VOTER_REG",
    "TRAINING",
    "FRIEND_TO_FRIEND_OUTREACH",
    "ADVOCACY_CALL",
    "DEBATE_WATCH_PARTY",
    "RALLY",
    "TOWN_HALL",
    "OFFICE_OPENING",
    "BARNSTORM",
    "SOLIDARITY_EVENT",
    "COMMUNITY_CANVASS",
    "SIGNATURE_GATHERING",
    "CARPOOL",
    "OTHER",
    "WORKSHOP",
)
RARE_EVENT_TYPES = ("POSTCARD_WRITING", "RELATIONAL")
# Event types a simulator accepts as enum values (the list "may expand").
ALL_EVENT_TYPES = (
    *COMMON_EVENT_TYPES,
    "PETITION",
    "AUTOMATED_PHONE_BANK",
    "LETTER_WRITING",
    "LITERATURE_DROP_OFF",
    "VISIBILITY_EVENT",
    "PLEDGE",
    "INTEREST_FORM",
    "DONATION_CAMPAIGN",
    "SOCIAL_MEDIA_CAMPAIGN",
    "POSTCARD_WRITING",
    "GROUP",
    "VOLUNTEER_SHIFT",
    "ADVOCACY",
    "RELATIONAL",
    "DATA_ENTRY",
    "POLL_MONITORING",
    "HOTLINE",
    "VOTER_PROTECTION",
)
# Weighted toward the field work most organizations run.
TYPE_WEIGHTS = {
    "CANVASS": 14,
    "PHONE_BANK": 14,
    "TEXT_BANK": 10,
    "MEETING": 6,
    "COMMUNITY": 4,
    "FUNDRAISER": 4,
    "MEET_GREET": 3,
    "HOUSE_PARTY": 3,
    "VOTER_REG": 5,
    "TRAINING": 5,
    "FRIEND_TO_FRIEND_OUTREACH": 2,
    "ADVOCACY_CALL": 2,
    "DEBATE_WATCH_PARTY": 1,
    "RALLY": 3,
    "TOWN_HALL": 2,
    "OFFICE_OPENING": 1,
    "BARNSTORM": 2,
    "SOLIDARITY_EVENT": 1,
    "COMMUNITY_CANVASS": 3,
    "SIGNATURE_GATHERING": 2,
    "CARPOOL": 1,
    "OTHER": 3,
    "WORKSHOP": 2,
    "POSTCARD_WRITING": 1,
    "RELATIONAL": 1,
}
VIRTUAL_FRIENDLY = {"PHONE_BANK", "TEXT_BANK", "TRAINING", "MEETING", "ADVOCACY_CALL", "WORKSHOP"}

US_TIMEZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "Pacific/Honolulu",
)

ENUMS: dict[str, list[str]] = {
    "event_type": list(ALL_EVENT_TYPES),
    "visibility": ["PUBLIC", "PRIVATE"],
    "accessibility_status": ["ACCESSIBLE", "NOT_ACCESSIBLE", "NOT_SURE"],
    "approval_status": ["APPROVED", "NEEDS_APPROVAL", "REJECTED", "NEEDS_HOST_VERIFICATION"],
    "timezone": list(US_TIMEZONES),
    "sms_opt_in": ["UNSPECIFIED", "OPT_IN", "OPT_OUT"],
    "transactional_sms_opt_in": ["UNSPECIFIED", "OPT_IN", "OPT_OUT"],
}

# city, state, zip prefix (3 digits), latitude, longitude, timezone, congressional district
CITIES: tuple[tuple[str, str, str, float, float, str, str], ...] = (
    ("Philadelphia", "PA", "191", 39.9526, -75.1652, "America/New_York", "03"),
    ("Pittsburgh", "PA", "152", 40.4406, -79.9959, "America/New_York", "12"),
    ("Harrisburg", "PA", "171", 40.2732, -76.8867, "America/New_York", "10"),
    ("Atlanta", "GA", "303", 33.7490, -84.3880, "America/New_York", "05"),
    ("Savannah", "GA", "314", 32.0809, -81.0912, "America/New_York", "01"),
    ("Charlotte", "NC", "282", 35.2271, -80.8431, "America/New_York", "12"),
    ("Raleigh", "NC", "276", 35.7796, -78.6382, "America/New_York", "02"),
    ("Detroit", "MI", "482", 42.3314, -83.0458, "America/New_York", "13"),
    ("Grand Rapids", "MI", "495", 42.9634, -85.6681, "America/New_York", "03"),
    ("Columbus", "OH", "432", 39.9612, -82.9988, "America/New_York", "03"),
    ("Cleveland", "OH", "441", 41.4993, -81.6944, "America/New_York", "11"),
    ("Miami", "FL", "331", 25.7617, -80.1918, "America/New_York", "27"),
    ("Orlando", "FL", "328", 28.5383, -81.3792, "America/New_York", "10"),
    ("Milwaukee", "WI", "532", 43.0389, -87.9065, "America/Chicago", "04"),
    ("Madison", "WI", "537", 43.0731, -89.4012, "America/Chicago", "02"),
    ("Minneapolis", "MN", "554", 44.9778, -93.2650, "America/Chicago", "05"),
    ("Chicago", "IL", "606", 41.8781, -87.6298, "America/Chicago", "07"),
    ("Houston", "TX", "770", 29.7604, -95.3698, "America/Chicago", "18"),
    ("Austin", "TX", "787", 30.2672, -97.7431, "America/Chicago", "37"),
    ("Omaha", "NE", "681", 41.2565, -95.9345, "America/Chicago", "02"),
    ("Denver", "CO", "802", 39.7392, -104.9903, "America/Denver", "01"),
    ("Albuquerque", "NM", "871", 35.0844, -106.6504, "America/Denver", "01"),
    ("Salt Lake City", "UT", "841", 40.7608, -111.8910, "America/Denver", "01"),
    ("Phoenix", "AZ", "850", 33.4484, -112.0740, "America/Phoenix", "03"),
    ("Tucson", "AZ", "857", 32.2226, -110.9747, "America/Phoenix", "07"),
    ("Las Vegas", "NV", "891", 36.1699, -115.1398, "America/Los_Angeles", "01"),
    ("Reno", "NV", "895", 39.5296, -119.8138, "America/Los_Angeles", "02"),
    ("Los Angeles", "CA", "900", 34.0522, -118.2437, "America/Los_Angeles", "34"),
    ("Oakland", "CA", "946", 37.8044, -122.2712, "America/Los_Angeles", "12"),
    ("Portland", "OR", "972", 45.5152, -122.6784, "America/Los_Angeles", "03"),
    ("Seattle", "WA", "981", 47.6062, -122.3321, "America/Los_Angeles", "07"),
    ("Honolulu", "HI", "968", 21.3069, -157.8583, "Pacific/Honolulu", "01"),
)

STREETS = (
    "Main St",
    "Oak Ave",
    "Maple St",
    "Washington Blvd",
    "Park Ave",
    "Elm St",
    "Lincoln Ave",
    "Cedar Rd",
    "Market St",
    "Broad St",
    "Jefferson St",
    "Lake Dr",
    "Highland Ave",
    "Church St",
    "Pine St",
    "Union Ave",
    "Franklin St",
    "River Rd",
    "Chestnut St",
    "Center St",
)
VENUES = (
    "Public Library, Community Room",
    "Union Hall",
    "Field Office",
    "Community Center",
    "First Congregational Church Hall",
    "Coffee Collective",
    "Neighborhood Park Pavilion",
    "Volunteer's Home",
    "Campaign Headquarters",
    "Recreation Center, Room B",
    "Brewing Company Back Room",
    "High School Cafeteria",
)
GIVEN_NAMES = (
    "James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "John",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Carlos", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra",
    "Jose", "Ashley", "Kevin", "Kimberly", "Brian", "Emily", "George", "Donna", "Wei", "Michelle",
    "Edward", "Carol", "Ronald", "Amanda", "Timothy", "Melissa", "Jason", "Deborah", "Jeffrey",
    "Stephanie", "Ryan", "Rebecca", "Jacob", "Sharon", "Gary", "Laura", "Nicholas", "Cynthia",
    "Eric", "Dorothy", "Jonathan", "Amy", "Priya", "Aisha", "Luis", "Mei", "Kwame", "Fatima",
    "Hiroshi", "Ngozi", "Andrés", "Zoë",
)  # fmt: skip
FAMILY_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Chen", "Patel", "Kim", "Okafor",
    "O'Brien", "Müller", "Yamamoto", "Haddad", "Kowalski", "Begay",
)  # fmt: skip
EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "aol.com")

TITLES: dict[str, tuple[str, ...]] = {
    "CANVASS": ("Weekend Canvass in {city}", "Door Knocking: {city}", "{city} Canvass Launch"),
    "PHONE_BANK": ("Virtual Phone Bank", "Call Voters in {state}", "Evening Phone Bank"),
    "TEXT_BANK": ("Text Bank for {state}", "Virtual Text Bank", "Text Out the Vote"),
    "MEETING": ("Monthly Volunteer Meeting", "{city} Team Meeting", "Organizing Meeting"),
    "COMMUNITY": ("Community Potluck", "{city} Neighbors Gathering", "Community Cleanup"),
    "FUNDRAISER": ("Grassroots Fundraiser", "Fundraising Dinner in {city}", "Trivia Fundraiser"),
    "MEET_GREET": ("Meet & Greet with the Candidate", "Coffee with the Campaign in {city}"),
    "HOUSE_PARTY": ("House Party in {city}", "Kickoff House Party"),
    "VOTER_REG": ("Voter Registration Drive", "Register Voters at the {city} Farmers Market"),
    "TRAINING": ("Volunteer Training", "Canvass Training", "Phone Bank Training (Virtual)"),
    "FRIEND_TO_FRIEND_OUTREACH": ("Friend-to-Friend Outreach Hour", "Reach Your Network"),
    "ADVOCACY_CALL": ("Call Your Senator Day", "Advocacy Call-In"),
    "DEBATE_WATCH_PARTY": ("Debate Watch Party in {city}", "Debate Night Watch Party"),
    "RALLY": ("Rally in {city}", "Get Out the Vote Rally"),
    "TOWN_HALL": ("{city} Town Hall", "Community Town Hall"),
    "OFFICE_OPENING": ("{city} Office Opening", "Grand Opening: {city} Field Office"),
    "BARNSTORM": ("{city} Barnstorm", "Volunteer Barnstorm"),
    "SOLIDARITY_EVENT": ("Solidarity Vigil in {city}", "Stand in Solidarity"),
    "COMMUNITY_CANVASS": ("Community Canvass: {city}", "Neighborhood Listening Canvass"),
    "SIGNATURE_GATHERING": ("Ballot Petition Signature Drive", "Collect Signatures in {city}"),
    "CARPOOL": ("Carpool to {city}", "Road Trip Canvass Carpool"),
    "OTHER": ("Volunteer Day", "Special Project Night", "{city} Volunteer Social"),
    "WORKSHOP": ("Storytelling Workshop", "Digital Organizing Workshop"),
    "POSTCARD_WRITING": ("Postcard Writing Party", "Postcards to {state} Voters"),
    "RELATIONAL": ("Relational Organizing Session", "Talk to Five Friends"),
}
PARAGRAPHS = (
    "Join us to talk with voters about the issues that matter most in our community.",
    "No experience needed. We will provide training, materials and snacks.",
    "Bring a charged phone and a friend. Accessible parking is available on site.",
    "We are building a volunteer team that can win in November and beyond.",
    "This is a family-friendly event; kids are welcome.",
    "Masks are available for anyone who wants one.",
)
TAG_NAMES = (
    "Youth",
    "Spanish-speaking",
    "Students",
    "Labor",
    "Climate",
    "Healthcare",
    "Rural",
    "Accessible",
)
CUSTOM_FIELDS = (
    (501, "Do you need a ride?", "boolean"),
    (502, "Dietary restrictions", "text"),
    (503, "Languages spoken", "text"),
    (504, "Can you host a future event?", "boolean"),
)
FEEDBACK = (
    "Great event, well organized!",
    "Would have liked more training beforehand.",
    "Loved meeting other volunteers.",
    "Turf was too spread out.",
)

ORG_NAMES = (
    ("Keystone Forward", "keystoneforward", "INDEPENDENT"),
    ("Great Lakes Voter Alliance", "greatlakesvoters", "C4"),
    ("Sunbelt Organizing Project", "sunbeltorganizing", "GRASSROOTS_GROUP"),
    ("Rivera for Congress", "riveraforcongress", "CAMPAIGN"),
    ("State Democratic Party", "statedemocrats", "STATE_PARTY"),
    ("Working Families United", "workingfamiliesunited", "UNION"),
    ("Clean Air Now", "cleanairnow", "C3"),
)
