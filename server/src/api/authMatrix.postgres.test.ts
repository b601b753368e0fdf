import { describeAuthMatrix } from './authMatrix.suite';

describeAuthMatrix('postgres');
