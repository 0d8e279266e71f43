/** @spindle/gpu-runner: the long-lived GPU runner (run `src/main.ts`), and the model generator tests and benchmarks use. */
export { Runner, type RunnerOptions } from './runner.ts';
export { runnerConfigFromEnv, type RunnerConfig } from './config.ts';
export { chooseEp, type EpChoice, type EpRequest } from './ep.ts';
export { mlpModel } from './onnx-writer.ts';
