import { describeAuthMatrix } from './authMatrix.suite';

describeAuthMatrix('pglite');
