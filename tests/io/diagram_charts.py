"""A small chart that uses every drawing convention, for the golden diagram files."""

from __future__ import annotations

from statekeeper import Chart, Final, History, Parallel, State, Transition

PLAYER = Chart("player", version=2, initial="Idle", states={
    "Idle": State(on={"play": "Active", "resume": "hist", "busy": "Busy", "tick": None},
                  always=Transition("Done", cond="finished")),
    "Active": State(initial="Playing", on={"stop": "Idle"}, states={
        "Playing": State(on={"pause": "Paused"}, after={"30s": "Idle"}),
        "Paused": State(on={"play": "Playing"}),
        "hist": History("deep", default="Paused"),
    }),
    "Busy": Parallel(states={
        "Audio": State(states={"on.air": State(on={"mute": "end"}), "end": Final()}),
        "Video": State(),
    }),
    "Done": Final(),
})
