"""Run a classifier, detector or segmentor on one image and draw its result.

    python demo/image_demo.py IMAGE MODEL [--checkpoint CKPT] [--out-file OUT.png] [--device cpu]

MODEL is a model name (``python -c "import mmattn; print(mmattn.list_models())"``) or a config path.
"""
import argparse
import os.path as osp

from mmattn.apis import add_image_and_model_arguments


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Inference on one image, drawn to a PNG')
    add_image_and_model_arguments(parser)
    parser.add_argument('--out-file', help='the drawn result; defaults to <image name>_<model>.png here')
    parser.add_argument('--score-thr', type=float, default=0.3, help='detection: boxes drawn above this score')
    parser.add_argument('--topk', type=int, default=5, help='classification: classes printed')
    return parser.parse_args(argv)


def summary(task, result, model, score_thr, topk):
    """A few lines saying what the model found."""
    if task == 'classification':
        return [f'{score:.4f}  {name}' for name, score in result['topk'][:topk]]
    classes = model.dataset_meta.get('classes') or ()
    if task == 'detection':
        instances = result.pred_instances[result.pred_instances.scores > score_thr]
        lines = [f'{len(instances)} instance(s) scoring above {score_thr}']
        return lines + [f'{score:.3f}  {classes[label] if label < len(classes) else label}  box {box.round().tolist()}'
                        for score, label, box in zip(instances.scores.tolist(), instances.labels.tolist(),
                                                     instances.bboxes)][:20]
    label_map = result.pred_sem_seg.data[0]
    counts = label_map.flatten().bincount()
    present = [(int(c), i) for i, c in enumerate(counts.tolist()) if c]
    return [f'label map {tuple(label_map.shape)}'] + [
        f'{100 * c / label_map.numel():5.1f}%  {classes[i] if i < len(classes) else i}'
        for c, i in sorted(present, reverse=True)]


def main(argv=None):
    args = parse_args(argv)
    from mmattn.apis import draw_result, image_and_model_or_exit, inference_model, model_task
    image, model = image_and_model_or_exit(args)
    task = model_task(model)
    result = inference_model(model, image, topk=args.topk)
    print('\n'.join(summary(task, result, model, args.score_thr, args.topk)))
    name = osp.splitext(osp.basename(args.model))[0]
    out_file = args.out_file or f'{osp.splitext(osp.basename(args.image))[0]}_{name}.png'
    draw_result(model, image, result, out_file, score_thr=args.score_thr)
    print(f'{task} result drawn to {out_file}')


if __name__ == '__main__':
    main()
