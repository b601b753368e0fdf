// The offline evaluation lives in ../eval; simulate only needs its report shape and entry points.
export type { EvalReport, EvalReportRow } from '../eval';
