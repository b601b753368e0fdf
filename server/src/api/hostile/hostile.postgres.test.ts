import { describeHostile } from './hostile.suite';

describeHostile('postgres');
