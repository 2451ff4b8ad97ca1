"""Locations: created, listed, read and updated by id."""

from __future__ import annotations

from typing import Any

from sandbox.pdi.binding import Body, error
from sandbox.pdi.resource import Resource
from sandbox.pdi.routing import Route, route
from sandbox.server.messages import Request, Response


class Locations(Resource):
    def routes(self) -> list[Route]:
        return [
            route("GET", "/locations", self.list_locations),
            route("POST", "/locations", self.create_location),
            route("GET", "/locations/{id}", self.get_location),
            route("PUT", "/locations/{id}", self.update_location),
        ]

    def location_fields(self, body: Body) -> dict[str, Any]:
        return {
            "locationName": body.string("locationName", required=True),
            "locationAddress": body.string("locationAddress", default=""),
        }

    def list_locations(self, request: Request, _ids: list[str]) -> Response:
        return self.pager.page(request, list(self.state.locations.values()))

    def create_location(self, request: Request, _ids: list[str]) -> Response:
        body = Body(request.json())
        fields = self.location_fields(body)
        body.check()
        location = {"id": self.state.new_id(), **fields}
        self.state.locations[location["id"]] = location
        self.state.wrote(request)
        return Response(200, dict(location))

    def get_location(self, request: Request, ids: list[str]) -> Response:
        location = self.state.locations.get(ids[0])
        if location is None:
            return error(404, "The location was not found.")
        return Response(200, dict(location))

    def update_location(self, request: Request, ids: list[str]) -> Response:
        location = self.state.locations.get(ids[0])
        if location is None:
            return error(404, "The location was not found.")
        body = Body(request.json())
        location.update(self.put_fields(body, self.location_fields(body)))
        self.state.wrote(request)
        # No "data" key: see the package docstring (Parsons' update_location).
        return Response(200, {"code": 201, "message": "Location updated."})
