#!/usr/bin/env node
// `npm start`: runs the whole framewise system on this machine. The one-command launcher
// arrives with issue #9; until then this says so plainly instead of pretending.
console.error(`npm start does not run the whole system yet: the launcher arrives with issue #9.

The services exist and run one by one against a Redis and a Postgres you provide
(for example: docker-compose up -d redis postgres):

  npm run db:migrate        apply the database schema (DATABASE_URL)
  npm run start:api         upload API          (services/ingestion/README.md)
  npm run start:extractor   frame extractor     (services/ingestion/README.md)
  npm run start:worker      detection worker    (services/worker/README.md)
  npm run start:reaper      reaper              (services/reaper/README.md)

Run the tests with:  npm test`);
process.exit(1);
