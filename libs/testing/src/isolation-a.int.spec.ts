import { isolationScenario } from './isolation-scenario.spec-helper';

// Runs side by side with isolation-b.int.spec.ts: two test files never see each other's data.
it('sees only its own database and Redis keys while isolation-b runs', async () => {
  await isolationScenario('a', 'b');
});
