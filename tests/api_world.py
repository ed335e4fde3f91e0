"""A small world of users and tokens across two demo countries, for API tests.

The people are created once per test database (api_people); each test gets a World of its own
with a fresh tag, so the names it gives what it creates (cycles, e-mails) never collide.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from app.accounts import service as accounts

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class People:
    """The world's users: an API token and a user id for each role below."""

    tokens: dict[str, str]
    ids: dict[str, int]


@dataclass
class World:
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    tag: str = ""

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, who: str, url: str):
        return self.client.get(url, headers=self.headers(who))

    def post(self, who: str, url: str, json=None):
        return self.client.post(url, json=json, headers=self.headers(who))

    def put(self, who: str, url: str, json=None):
        return self.client.put(url, json=json, headers=self.headers(who))

    def delete(self, who: str, url: str):
        return self.client.delete(url, headers=self.headers(who))


PEOPLE = {
    "coordinator": ("coordinator", "XAA"),
    "contributor": ("contributor", "XAA"),
    "contributor2": ("contributor", "XAA"),
    "viewer": ("viewer", "XAA"),
    "other_coordinator": ("coordinator", "XAB"),
    "other_contributor": ("contributor", "XAB"),
    "secretariat": ("secretariat", None),
    "admin": ("admin", None),
}


def make_people(client: TestClient, tag: str | None = None) -> People:
    """New users, named and addressed by tag, with API tokens, committed to the app's database."""
    tag = tag or uuid.uuid4().hex[:8]
    tokens: dict[str, str] = {}
    ids: dict[str, int] = {}
    with client.app.state.sessionmaker.begin() as session:
        for who, (role, country) in PEOPLE.items():
            user = accounts.create_user(
                session,
                email=f"{who}-{tag}@example.org",
                full_name=f"{who.title()} {tag}",
                role=role,
                country_code=country,
                password=PASSWORD,
            )
            token, _ = accounts.issue_api_token(session, user=user, name="tests")
            tokens[who] = token
            ids[who] = user.id
    return People(tokens, ids)


def make_world(client: TestClient, people: People | None = None) -> World:
    """A world with a tag of its own, of the given people.

    Without people, new ones are made whose names carry the world's tag ("Coordinator <tag>").
    """
    tag = uuid.uuid4().hex[:8]
    people = people or make_people(client, tag)
    return World(client=client, tokens=dict(people.tokens), ids=dict(people.ids), tag=tag)
