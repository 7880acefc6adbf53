import { type OptionSpecs, type OptionValues, parseOptions } from './options.js';

/** One benchmark the runner can start by name. */
export interface Bench {
  name: string;
  /** One line: what is measured, from where to where. */
  summary: string;
  options: OptionSpecs;
  /** Parses argv (throwing UsageError on bad options), runs, prints its JSON lines. */
  main(argv: readonly string[]): Promise<void>;
}

export function defineBench<S extends OptionSpecs>(b: {
  name: string;
  summary: string;
  options: S;
  run: (options: OptionValues<S>) => Promise<void>;
}): Bench {
  return {
    name: b.name,
    summary: b.summary,
    options: b.options,
    main: (argv) => b.run(parseOptions(b.name, b.options, argv)),
  };
}
