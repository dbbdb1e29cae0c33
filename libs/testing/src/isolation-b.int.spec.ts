import { isolationScenario } from './isolation-scenario.spec-helper';

// Runs side by side with isolation-a.int.spec.ts: two test files never see each other's data.
it('sees only its own database and Redis keys while isolation-a runs', async () => {
  await isolationScenario('b', 'a');
});
