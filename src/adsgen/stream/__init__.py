"""Live mode: the simulated world as individual events in time order (`adsgen stream`).

- `source`: the plan and its batch simulation, hour by hour (the same world `generate` makes);
- `events`: an hour's performance rows → impression, start … complete, click, qrScan,
  conversion events, keyed and vectorized;
- `rollup`: events → hourly rows again (what reconciles with the batch);
- `encode`: event ids, JSON lines and Arrow tables, built column-wise;
- `clock`: speed, rate and the progress line; `faults`: drops, duplicates, late and
  reordered events, with their ledger;
- `sinks` (the interface, JSON lines), `nats_sink`, `redis_sink`, `db_sync`: where events
  go, chosen by URL;
- `run`: the loop joining them, with checkpoints; `job`: `adsgen stream` as one call.
"""
