/**
 * Errors of the render pipeline that the UI thread needs to recognise without
 * loading the pipeline itself (which pulls in TensorFlow.js).
 */

/** Thrown when a render is cancelled through its AbortSignal. */
export class RenderCancelled extends Error {
  constructor() {
    super('render cancelled');
    this.name = 'RenderCancelled';
  }
}
