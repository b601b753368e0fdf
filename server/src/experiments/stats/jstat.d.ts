/** The part of jStat (https://github.com/jstat/jstat, no bundled types) the experiment statistics use. */
declare module 'jstat' {
  const jStat: {
    normal: {
      cdf(x: number, mean: number, sd: number): number;
      inv(p: number, mean: number, sd: number): number;
    };
    chisquare: {
      cdf(x: number, degreesOfFreedom: number): number;
    };
    beta: {
      /** A Beta(α, β) draw, as the ratio of two gamma draws (Marsaglia–Tsang), from `setRandom`'s source. */
      sample(alpha: number, beta: number): number;
    };
    /** ln B(x, y), the log of the beta function. */
    betaln(x: number, y: number): number;
    /** Replaces the uniform source every `sample` reads (Math.random by default). */
    setRandom(fn: () => number): void;
    _random_fn: () => number;
  };
  export default jStat;
}
