#!/usr/bin/env node
// `npm start`: runs the whole framewise system on this machine. The services it starts do not
// exist yet; this says so plainly instead of pretending.
console.error(`framewise cannot run yet: its services are still being built.

  services/ingestion (upload API + frame extractor)  arrives with issue #7
  services/worker and services/reaper                arrives with issue #8
  npm start (private Redis + Postgres, migrations, every service, one command)
                                                     arrives with issue #9

What works today: the libraries and their tests. Run them with:  npm test`);
process.exit(1);
