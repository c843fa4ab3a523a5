"""Shadow execution (issue 18, item 5): a planted divergence is found, nothing of it committed."""

from __future__ import annotations

import logging

import pytest

from statekeeper import Assign, Chart, Effect, Migration, State, Transition
from statekeeper.client import Client


def counter(version: int) -> Chart:
    on_flip: object = "on"
    if version == 2:  # the planted divergences: from "off", flip counts, and rings
        on_flip = Transition("on", actions=[Assign("flips", value=1), Effect("ring")])
    return Chart("lamp", version=version, initial="off", data={"flips": 0}, states={
        "off": State(on={"flip": on_flip, "smash": "broken" if version == 1 else "off"}),
        "on": State(on={"flip": "off", "smash": "broken"}),
        "broken": State(on={"fix": "off"}),
    })


def test_a_planted_divergence_is_counted_logged_and_not_committed(
        client: Client, caplog: pytest.LogCaptureFixture) -> None:
    rung: list[str] = []
    client.register(counter(1))
    client.register(counter(2), effects={"ring": lambda args, key: rung.append(key)})
    client.register_migration(Migration("lamp", 1, 2))
    shadow = client.shadow("lamp", 1, 2)
    client.start("lamp", "a", version=1)
    with caplog.at_level(logging.WARNING, logger="statekeeper.shadow"):
        client.send("a", "flip")  # v2 would count and ring: data and commands diverge
        client.send("a", "flip")  # on -> off: the same in both
        client.send("a", "smash")  # v1 breaks, v2 stays off: the configuration diverges
    assert client.get("a").state == "broken" and client.get("a").data == {"flips": 0}
    client.worker.run_until_idle()
    assert rung == []  # the shadow's effect never ran
    assert shadow.compared == {("off", "flip"): 1, ("on", "flip"): 1, ("off", "smash"): 1}
    assert shadow.diverged_events == {("off", "flip"): 1, ("off", "smash"): 1}
    assert shadow.diverged[("off", "flip")] == {"data": 1, "commands": 1}
    assert shadow.diverged[("off", "smash")] == {"configuration": 1}
    assert [(d.instance, d.event, d.kinds) for d in shadow.last] == [
        ("a", "flip", ("data", "commands")), ("a", "smash", ("configuration",))]
    assert "instance 'a', off on 'smash' diverged (configuration)" in caplog.text
    table = shadow.report().splitlines()
    assert table[0] == "shadow of 'lamp' v1 on v2"
    assert [line.split()[:4] for line in table[2:]] == [
        ["off", "flip", "1", "1"], ["off", "smash", "1", "1"], ["on", "flip", "1", "0"]]


def test_instances_of_other_versions_are_not_shadowed(client: Client) -> None:
    client.register(counter(1))
    client.register(counter(2), effects={"ring": lambda args, key: None})
    client.register_migration(Migration("lamp", 1, 2))
    shadow = client.shadow("lamp", 1, 2)
    client.start("lamp", "new")  # on v2
    client.send("new", "flip")
    assert shadow.compared == {}
