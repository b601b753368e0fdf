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
  };
  export default jStat;
}
