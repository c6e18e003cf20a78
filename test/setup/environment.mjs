// The Node test environment, plus one flag: whether the running test has failed, so the buffered module log
// (buffered-logs.ts) is printed for failing tests only. jest-circus reports failures as events here.
import { TestEnvironment } from 'jest-environment-node';

export default class OidcTestEnvironment extends TestEnvironment {
  async handleTestEvent(event) {
    if (event.name === 'test_start') this.global.__oidcTestFailed = false;
    if (event.name === 'test_fn_failure' || event.name === 'hook_failure') this.global.__oidcTestFailed = true;
  }
}
