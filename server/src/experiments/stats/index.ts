export {
  type ArmMoments,
  type CompareOptions,
  type Comparison,
  compareArms,
  meanAndVariance,
  proportionMoments,
} from './compare';
export {
  addUnit,
  type CovariateMoments,
  cupedAdjustedMoments,
  cupedTheta,
  emptyCovariateMoments,
  pooledMeanX,
} from './cuped';
export { chiSquareSurvival, phi, phiInverse } from './distributions';
export {
  fixedHorizonSampleSize,
  type PlanOptions,
  sequentialPowerLowerBound,
  sequentialSampleSize,
} from './power';
export {
  alwaysValidTest,
  confidenceSequenceHalfWidth,
  mixtureLikelihoodRatio,
  type SequentialTest,
} from './sequential';
export { type SampleRatioCheck, sampleRatioMismatch } from './srm';
