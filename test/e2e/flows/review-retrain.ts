import { retrainFlow } from '../reviewRetrain';

export default retrainFlow(false);
