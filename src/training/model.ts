/**
 * A trained student on disk and back. Layout of the model directory:
 *   model.json     TensorFlow.js layers-model format for the dense part (one Dense softmax layer, dim → classes),
 *                  with `userDefinedMetadata.peerkd` describing the rest; loadable by `tf.loadLayersModel`.
 *   weights.bin    the dense layer's weights (TF.js weight-manifest binary).
 *   embedding.bin  the embedding bag: the rows that are not all zero (rows never trained stay zero), as
 *                  Int32 row indices followed by Float32 rows (dim values each).
 *   idf.bin        Float32 IDF per hash bucket (the fitted featurizer).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { transform, type FeaturizerConfig, type FittedFeaturizer } from './featurize';
import { predictStudent, type StudentWeights } from './student';
import { selectBackend, type TensorFlow } from './backend';
import type { BackendPreference } from './types';
import { labelRecord } from './labelRecord';

export const MODEL_FORMAT = 'peerkd-fasttext-v1';

export interface TrainedModel {
  labels: string[];
  featurizer: FittedFeaturizer;
  weights: StudentWeights;
}

export interface ModelPrediction {
  predicted: string;
  probs: Record<string, number>;
}

export interface LoadedModel {
  labels: string[];
  featurizer: FeaturizerConfig;
  predict(texts: string[]): Promise<ModelPrediction[]>;
}

interface PeerkdMetadata {
  format: string;
  labels: string[];
  featurizer: FeaturizerConfig;
  buckets: number;
  dim: number;
  embeddingRows: number;
}

function toBuffer(array: Float32Array | Int32Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

function denseModel(tf: TensorFlow, dim: number, classes: number) {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [dim], units: classes, activation: 'softmax', name: 'peerkd_head' }));
  return model;
}

export async function saveModel(model: TrainedModel, dir: string, backend: BackendPreference = 'auto'): Promise<void> {
  const { tf } = await selectBackend(backend);
  const { weights, labels, featurizer } = model;
  await mkdir(dir, { recursive: true });

  const nonZero: number[] = [];
  for (let b = 0; b < weights.buckets; b++) {
    const row = weights.embedding.subarray(b * weights.dim, (b + 1) * weights.dim);
    if (row.some((value) => value !== 0)) nonZero.push(b);
  }
  const rows = new Float32Array(nonZero.length * weights.dim);
  nonZero.forEach((bucket, i) => rows.set(weights.embedding.subarray(bucket * weights.dim, (bucket + 1) * weights.dim), i * weights.dim));

  const dense = denseModel(tf, weights.dim, weights.classes);
  const kernel = tf.tensor2d(weights.kernel, [weights.dim, weights.classes]);
  const bias = tf.tensor1d(weights.bias);
  dense.setWeights([kernel, bias]);
  kernel.dispose();
  bias.dispose();
  const metadata: PeerkdMetadata = {
    format: MODEL_FORMAT,
    labels,
    featurizer: featurizer.config,
    buckets: weights.buckets,
    dim: weights.dim,
    embeddingRows: nonZero.length,
  };
  await dense.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData as ArrayBuffer;
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        userDefinedMetadata: { peerkd: metadata },
      };
      await writeFile(path.join(dir, 'weights.bin'), Buffer.from(weightData));
      await writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson, null, 2) + '\n');
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  dense.dispose();
  await writeFile(path.join(dir, 'embedding.bin'), Buffer.concat([toBuffer(Int32Array.from(nonZero)), toBuffer(rows)]));
  await writeFile(path.join(dir, 'idf.bin'), toBuffer(featurizer.idf));
}

function float32(buffer: Buffer, byteOffset: number, length: number): Float32Array {
  const copy = new Float32Array(length);
  copy.set(new Float32Array(buffer.buffer.slice(buffer.byteOffset + byteOffset, buffer.byteOffset + byteOffset + length * 4)));
  return copy;
}

export async function loadModel(dir: string, backend: BackendPreference = 'auto'): Promise<LoadedModel> {
  const modelPath = path.join(dir, 'model.json');
  let modelJson: {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: import('@tensorflow/tfjs').io.WeightsManifestEntry[] }[];
    userDefinedMetadata?: { peerkd?: PeerkdMetadata };
  };
  try {
    modelJson = JSON.parse(await readFile(modelPath, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read model ${modelPath}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const metadata = modelJson.userDefinedMetadata?.peerkd;
  if (!metadata || metadata.format !== MODEL_FORMAT) {
    throw new Error(`${modelPath} is not a PeerKD model (expected userDefinedMetadata.peerkd.format = ${MODEL_FORMAT})`);
  }
  const { tf } = await selectBackend(backend);
  const weightData = await readFile(path.join(dir, modelJson.weightsManifest[0].paths[0]));
  const dense = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest[0].weights,
      weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
    }),
  );
  const [kernelTensor, biasTensor] = dense.getWeights();
  const kernel = Float32Array.from(kernelTensor.dataSync());
  const bias = Float32Array.from(biasTensor.dataSync());
  dense.dispose();

  const { buckets, dim, embeddingRows, labels } = metadata;
  const embeddingFile = await readFile(path.join(dir, 'embedding.bin'));
  const expectedBytes = embeddingRows * 4 + embeddingRows * dim * 4;
  if (embeddingFile.byteLength !== expectedBytes) {
    throw new Error(`${path.join(dir, 'embedding.bin')} has ${embeddingFile.byteLength} bytes, expected ${expectedBytes}`);
  }
  const indices = new Int32Array(embeddingFile.buffer.slice(embeddingFile.byteOffset, embeddingFile.byteOffset + embeddingRows * 4));
  const rows = float32(embeddingFile, embeddingRows * 4, embeddingRows * dim);
  const embedding = new Float32Array(buckets * dim);
  indices.forEach((bucket, i) => embedding.set(rows.subarray(i * dim, (i + 1) * dim), bucket * dim));
  const idfFile = await readFile(path.join(dir, 'idf.bin'));
  if (idfFile.byteLength !== buckets * 4) throw new Error(`${path.join(dir, 'idf.bin')} has ${idfFile.byteLength} bytes, expected ${buckets * 4}`);
  const featurizer: FittedFeaturizer = { config: metadata.featurizer, idf: float32(idfFile, 0, buckets) };
  const weights: StudentWeights = { buckets, dim, classes: labels.length, embedding, kernel, bias };

  return {
    labels,
    featurizer: featurizer.config,
    async predict(texts: string[]): Promise<ModelPrediction[]> {
      const probabilities = predictStudent(weights, transform(featurizer, texts));
      return texts.map((_, row) => toPrediction(labels, probabilities, row));
    },
  };
}

export function toPrediction(labels: readonly string[], probabilities: Float32Array, row: number): ModelPrediction {
  const classes = labels.length;
  const probs = labelRecord(); // any label, `__proto__` included
  let best = 0;
  for (let c = 0; c < classes; c++) {
    probs[labels[c]] = probabilities[row * classes + c];
    if (probabilities[row * classes + c] > probabilities[row * classes + best]) best = c;
  }
  return { predicted: labels[best], probs };
}
