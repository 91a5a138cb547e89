/**
 * The engine-floor workflows: the least a durable webhook can cost on Temporal, in two shapes. Bundled on
 * their own (bundleWorkflowCode) and run on their own task queues by bench/baseline/child.ts.
 *
 * naivePost: started by a client, one ordinary activity doing the POST, nothing else.
 * bestPost:  started eagerly on a worker sharing the client's NativeConnection, the POST as a local
 *            activity.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { BaselineActivities, PostInput } from './activities.js';

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 20 };

const ordinary = proxyActivities<BaselineActivities>({ startToCloseTimeout: '30s', retry });
const local = proxyLocalActivities<BaselineActivities>({ startToCloseTimeout: '30s', retry });

export async function naivePost(input: PostInput): Promise<void> {
  await ordinary.postWebhook(input);
}

export async function bestPost(input: PostInput): Promise<void> {
  await local.postWebhook(input);
}
