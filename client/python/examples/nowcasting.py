#!/usr/bin/python3
"""Feeds daily weather observations into a nowcasting stream and prints its forecasts and errors.

    /usr/bin/python3 client/python/examples/nowcasting.py --server localhost:50051 \
        --csv tests/fixtures/noaa/weather.csv --location Seattle --days 400

The CSV is NOAA's daily weather for Seattle and New York (columns location, date, precipitation,
temp_max, temp_min, wind, weather). The stream forecasts temp_max 1, 2 and 3 days ahead at every
observation, scores each forecast when its day arrives and retrains its ridge model when the
error drifts.
"""
import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from attune_client import Client  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VARIABLES = ["precipitation", "temp_max", "temp_min", "wind"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default=os.environ.get("ATTUNE_SERVER", "localhost:50051"))
    ap.add_argument("--csv", default=os.path.join(HERE, "..", "..", "..", "tests", "fixtures", "noaa", "weather.csv"))
    ap.add_argument("--location", default="Seattle")
    ap.add_argument("--days", type=int, default=400)
    ap.add_argument("--stream", default="weather-demo")
    args = ap.parse_args()

    with open(args.csv) as f:
        rows = [r for r in csv.DictReader(f) if r["location"] == args.location][:args.days]

    with Client(args.server) as client:
        stream = client.nowcast_stream(args.stream, VARIABLES, ["temp_max"], resolution="1d",
                                       retrain={"trigger": "performance", "tau": 0.5}, exist_ok=True)
        last = stream.status().last_time
        if last is not None:  # the stream exists already: resume after its last observation
            rows = [r for r in rows if r["date"] > _date(last)]
        r = stream.ingest(rows, batch_size=100)
        fits = [f for res in r.results for f in res.retrain_finished]
        drifts = sum(len(res.drifts) for res in r.results)
        print("ingested %d days into %s (%d in total); %d model fits, %d drift events"
              % (r.ingested, stream.name, r.observations, len(fits), drifts))
        for f in fits[:5]:
            print("  model v%d live at step %d (%s, %d training rows)" % (f.version, f.swap_step, f.trigger,
                                                                           f.train_rows))

        fc = stream.forecast()
        print("\nforecast issued %s (%s)" % (_date(fc.issued_time),
                                             "model v%d" % fc.model_version if fc.from_model else "persistence"))
        for h in fc.horizons:
            print("  %s  temp_max %.1f" % (_date(h.valid_time), h.values["temp_max"]))

        print("\n%-9s %2s %5s %7s %15s %7s" % ("TARGET", "H", "N", "MAE", "PERSISTENCE MAE", "SKILL"))
        for h in stream.status().horizons:
            print("%-9s %2d %5d %7.3f %15.3f %6.1f%%" % (h.target, h.horizon, h.count, h.mae, h.persistence_mae,
                                                         100 * h.skill))
    return 0


def _date(t):
    import datetime
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d")


if __name__ == "__main__":
    sys.exit(main())
