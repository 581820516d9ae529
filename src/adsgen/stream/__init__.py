"""Live mode: the simulated world as individual events in time order (`adsgen stream`).

- `source`: the plan and its batch simulation, hour by hour (the same world `generate` makes);
- `events`: an hour's performance rows → impression, start … complete, click, qrScan,
  conversion events, keyed and vectorized;
- `rollup`: events → hourly rows again (what reconciles with the batch);
- `encode`: events → JSON lines, vectorized; `clock`: speed, rate and progress;
- `sinks`: where events go, chosen by URL; `run`: the loop joining them.
"""
