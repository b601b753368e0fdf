import { describeHostile } from './hostile.suite';

describeHostile('pglite');
