#!/usr/bin/env node
// Feeds daily weather observations into a nowcasting stream and prints its forecasts and errors.
//
//   node client/node/examples/nowcasting.js --server localhost:50051 \
//       --csv tests/fixtures/noaa/weather.csv --location Seattle --days 400
//
// The CSV is NOAA's daily weather for Seattle and New York (columns location, date, precipitation,
// temp_max, temp_min, wind, weather). The stream forecasts temp_max 1, 2 and 3 days ahead at every
// observation, scores each forecast when its day arrives and retrains when the error drifts.
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { Client } = require('..');

const VARIABLES = ['precipitation', 'temp_max', 'temp_min', 'wind'];
const day = (t) => new Date(t * 1000).toISOString().slice(0, 10);

function readCsv(file, location, limit) {
  const [head, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const cols = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])))
    .filter((r) => r.location === location).slice(0, limit);
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      server: { type: 'string', default: process.env.ATTUNE_SERVER || 'localhost:50051' },
      csv: { type: 'string', default: path.join(__dirname, '..', '..', '..', 'tests', 'fixtures', 'noaa', 'weather.csv') },
      location: { type: 'string', default: 'Seattle' },
      days: { type: 'string', default: '400' },
      stream: { type: 'string', default: 'weather-demo' },
    },
  });
  let rows = readCsv(args.csv, args.location, Number(args.days));
  const client = new Client(args.server);
  try {
    const stream = await client.nowcastStream(args.stream, {
      variables: VARIABLES, targets: ['temp_max'], resolution: '1d', retrain: { trigger: 'performance', tau: 0.5 }, existOk: true,
    });
    const { lastTime } = await stream.status();
    if (lastTime !== undefined) rows = rows.filter((r) => r.date > day(lastTime)); // resume after the last observation

    const r = await stream.ingest(rows, { batchSize: 100 });
    const fits = r.results.flatMap((x) => x.retrainFinished);
    const drifts = r.results.reduce((n, x) => n + x.drifts.length, 0);
    console.log(`ingested ${r.ingested} days into ${stream.name} (${r.observations} in total); ${fits.length} model fits, ${drifts} drift events`);
    for (const f of fits.slice(0, 5)) console.log(`  model v${f.version} live at step ${f.swapStep} (${f.trigger}, ${f.trainRows} training rows)`);

    const fc = await stream.forecast();
    console.log(`\nforecast issued ${day(fc.issuedTime)} (${fc.fromModel ? `model v${fc.modelVersion}` : 'persistence'})`);
    for (const h of fc.horizons) console.log(`  ${day(h.validTime)}  temp_max ${h.values.temp_max.toFixed(1)}`);

    console.log('\nTARGET     H     N     MAE  PERSISTENCE MAE   SKILL');
    for (const h of (await stream.status()).horizons) {
      console.log(`${h.target.padEnd(9)} ${String(h.horizon).padStart(2)} ${String(h.count).padStart(5)} ${h.mae.toFixed(3).padStart(7)} ` +
                  `${h.persistenceMae.toFixed(3).padStart(15)} ${(100 * h.skill).toFixed(1).padStart(6)}%`);
    }
  } finally {
    client.close();
  }
}

main().catch((e) => { console.error(e.message); process.exit(1); });
