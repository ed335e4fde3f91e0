"""Scores over the API equal the scoring functions' results, computed by hand here."""


def test_score_endpoint_matches_a_hand_computed_case(world, app_client):
    catalogue = app_client.app.state.catalogue.catalogue
    created = world.post(
        "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": f"S{world.tag}"}
    ).json()
    base = f"/api/v1/assessments/{created['id']}"
    legislation = catalogue.capability("legislation")
    levels = [3, 2, 4, 1][: len(legislation.indicators)]
    for indicator, level in zip(legislation.indicators, levels, strict=True):
        response = world.put(
            "coordinator",
            f"{base}/answers/legislation/{indicator.id}",
            {"version": 0, "response": "level", "level": level},
        )
        assert response.status_code == 200
    world.put("coordinator", f"{base}/targets/legislation", {"level": 4})

    body = world.get("viewer", f"{base}/score").json()
    capability = next(
        c for c in body["score"]["capabilities"] if c["capability_id"] == "legislation"
    )
    expected_level = sum(levels) // len(levels)  # mean, rounded down
    assert capability["level"] == expected_level
    assert capability["score"] == expected_level / 4 * 100
    assert body["score"]["provisional"] is True
    assert body["score"]["provenance"]["catalogue_hash"] == created["catalogue_hash"]
    gap = next(g for g in body["gaps"]["gaps"] if g["capability_id"] == "legislation")
    assert gap["gap"] == 4 - expected_level
    assert world.get("other_coordinator", f"{base}/score").status_code == 404
