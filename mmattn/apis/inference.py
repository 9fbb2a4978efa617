"""A model from a name or config, its result on one image, and that result drawn: thin over mmpretrain's,
mmdet's and mmseg's own inference functions and visualisers."""
import copy
import os.path as osp
import sys
from typing import Optional, Union

import numpy as np
from mmengine.config import Config

from .model_zoo import model_config_path

TASK_OF_SCOPE = {'mmpretrain': 'classification', 'mmdet': 'detection', 'mmseg': 'segmentation'}


def model_task(model) -> str:
    """``'classification'``, ``'detection'`` or ``'segmentation'``, from the default scope of the model's config."""
    return TASK_OF_SCOPE[model.cfg.default_scope]


def _load_config(model: Union[str, Config], cfg_options: Optional[dict]) -> Config:
    if isinstance(model, Config):
        cfg = model.copy()
    else:
        cfg = Config.fromfile(model if osp.isfile(model) or model.endswith('.py') else model_config_path(model))
    scope = cfg.get('default_scope')
    if scope not in TASK_OF_SCOPE:
        raise ValueError(f'{getattr(cfg, "filename", model)}: default_scope={scope!r}; expected one of '
                         f'{sorted(TASK_OF_SCOPE)} (a classification, detection or segmentation config)')
    if cfg_options:
        from mmattn.utils.config_check import unknown_option_keys
        unknown = unknown_option_keys(cfg, cfg_options)
        if unknown:
            raise ValueError(unknown)
        cfg.merge_from_dict(cfg_options)
    # an image on its own has no annotations to load (mmseg's inference drops this step itself, mmdet's not)
    for pipeline in (_test_dataset(cfg).pipeline, cfg.get('test_pipeline') or []):
        pipeline[:] = [step for step in pipeline if step['type'] != 'LoadAnnotations']
    return cfg


def _test_dataset(cfg: Config) -> Config:
    dataset = cfg.test_dataloader.dataset
    while 'dataset' in dataset:  # wrappers
        dataset = dataset.dataset
    return dataset


def _dataset_meta(cfg: Config) -> dict:
    """The class names (and palette) of the config's test set: its dataset class's, then the config's own."""
    from mmengine.registry import DATASETS
    dataset = _test_dataset(cfg)
    name = dataset.type if '.' in dataset.type else f'{cfg.default_scope}.{dataset.type}'
    meta = dict(getattr(DATASETS.get(name), 'METAINFO', {}))
    meta.update(dataset.get('metainfo') or {})
    return meta


def get_model(model: Union[str, Config], checkpoint: Optional[str] = None, device: str = 'cpu',
              cfg_options: Optional[dict] = None):
    """Build a classifier, detector or segmentor in eval mode, with its config and class names attached.

    Args:
        model (str | Config): A model name (:func:`mmattn.apis.list_models`), a config path, or a Config.
        checkpoint (str, optional): Weights (a path or URL), read weights-only; they must fit the model
            exactly (:class:`mmattn.engine.CheckpointMismatchError` lists what does not). Defaults to None
            (random weights).
        device (str): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides, as ``--cfg-options``. Defaults to None.

    Returns:
        BaseModel: The model, with ``cfg`` and ``dataset_meta`` (the checkpoint's, else the test set's).
    """
    from mmengine.registry import MODELS, init_default_scope

    from mmattn.engine.loading import require_fit
    from mmattn.utils.checkpoint import apply_key_revisions, load_checkpoint_path_or_url
    cfg = _load_config(model, cfg_options)
    init_default_scope(cfg.default_scope)
    cfg.model.backbone.init_cfg = None  # no ImageNet weights fetched for a model about to be overwritten
    if cfg.get('data_preprocessor'):  # a top-level one is the model's, as mmengine's Runner merges it
        cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    net = MODELS.build(cfg.model)
    meta = None
    if checkpoint is not None:
        loaded = load_checkpoint_path_or_url(checkpoint)
        require_fit(loaded, net, checkpoint)
        net.load_state_dict(apply_key_revisions(loaded.get('state_dict', loaded)), strict=True)
        meta = (loaded.get('meta') or {}).get('dataset_meta')
    # mmdet and mmseg read `cfg` and `dataset_meta`, mmpretrain `_config` and `_dataset_meta`
    net.cfg = net._config = cfg
    net.dataset_meta = net._dataset_meta = meta or _dataset_meta(cfg)
    return net.to(device).eval()


def read_image(path: str) -> np.ndarray:
    """The image at ``path`` as a BGR array; :class:`mmattn.compat.DataFileError` when it cannot be read."""
    import mmcv

    from mmattn.compat import DataFileError
    try:
        image = mmcv.imread(path) if osp.isfile(path) else None
    except Exception:  # the decoder's own error (OpenCV: "!buf.empty()") does not name the file
        image = None
    if image is None:
        raise DataFileError(f'{path}: not a readable image file')
    return image


def add_image_and_model_arguments(parser) -> None:
    """The arguments every one-image tool takes: ``image``, ``model``, ``--checkpoint``, ``--device``,
    ``--cfg-options`` (read by :func:`image_and_model_or_exit`)."""
    from mmengine.config import DictAction
    parser.add_argument('image', help='image file')
    parser.add_argument('model', help='model name (see mmattn.list_models()) or config file')
    parser.add_argument('--checkpoint', help='weights (path or URL); random weights when omitted')
    parser.add_argument('--device', default='cpu', help='device, e.g. cpu or cuda:0. Defaults to cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value pairs')


def image_and_model_or_exit(args):
    """For the command-line tools: ``(image, model)`` from ``args.image``, ``args.model``, ``args.checkpoint``,
    ``args.device`` and ``args.cfg_options``; a bad file or name ends the program with its message."""
    from mmattn.compat import DataFileError
    from mmattn.engine import RUN_STOPPING_ERRORS

    from .model_zoo import UnknownModelError
    try:
        return read_image(args.image), get_model(args.model, args.checkpoint, args.device, args.cfg_options)
    except (UnknownModelError, DataFileError, ValueError, *RUN_STOPPING_ERRORS) as error:  # ValueError: the config
        sys.exit(f'{type(error).__name__}: {error}')


def inference_model(model, image: Union[str, np.ndarray], topk: int = 5):
    """The model's result for one image (a path, or a BGR array as OpenCV reads it).

    Returns:
        - classification: mmpretrain's result dict (``pred_scores``, ``pred_label``, ``pred_score``,
          ``pred_class``) and ``topk``, the ``topk`` best ``(class name, score)`` pairs;
        - detection: mmdet's ``DetDataSample`` (``pred_instances``: ``bboxes``, ``scores``, ``labels``, and
          ``masks`` for instance segmentation);
        - segmentation: mmseg's ``SegDataSample`` (``pred_sem_seg.data``: the label map, the image's size).
    """
    from mmengine.registry import DefaultScope
    cfg = model.cfg
    model.cfg = copy.deepcopy(cfg)  # mmdet and mmseg switch the loading step of model.cfg for an array
    try:
        with DefaultScope.overwrite_default_scope(cfg.default_scope):  # whichever model was built last
            return _inference(model, image, topk)
    finally:
        model.cfg = cfg


def _inference(model, image, topk):
    task = model_task(model)
    if task == 'classification':
        from mmpretrain.apis import ImageClassificationInferencer
        inferencer = ImageClassificationInferencer(model, pretrained=False)
        # its steps without its __call__, which draws a progress bar for every image
        preds = [pred for batch in inferencer.preprocess([image]) for pred in inferencer.forward(batch)]
        result = inferencer.postprocess(preds, None)[0]
        classes = model.dataset_meta.get('classes') or [str(i) for i in range(len(result['pred_scores']))]
        best = np.argsort(-result['pred_scores'])[:topk]
        result['topk'] = [(classes[i], float(result['pred_scores'][i])) for i in best]
        return result
    if task == 'detection':
        from mmdet.apis import inference_detector
        return inference_detector(model, image)
    from mmseg.apis import inference_model as inference_segmentor
    return inference_segmentor(model, image)


def draw_result(model, image: Union[str, np.ndarray], result, out_file: str, score_thr: float = 0.3) -> None:
    """Draw ``result`` (of :func:`inference_model`) onto ``image`` with the task's own visualiser; write
    ``out_file`` (PNG, the image's size)."""
    import mmcv
    rgb = mmcv.imconvert(mmcv.imread(image) if isinstance(image, str) else image, 'bgr', 'rgb')
    task = model_task(model)
    name = f'mmattn_{task}_{id(model)}'
    if task == 'classification':
        import torch
        from mmpretrain.structures import DataSample
        from mmpretrain.visualization import UniversalVisualizer
        sample = DataSample().set_pred_score(torch.as_tensor(result['pred_scores'])).set_pred_label(
            result['pred_label'])
        UniversalVisualizer.get_instance(name).visualize_cls(
            rgb, sample, classes=model.dataset_meta.get('classes'), resize=None, out_file=out_file)
        return
    if task == 'detection':
        from mmdet.visualization import DetLocalVisualizer as TaskVisualizer
        options = dict(pred_score_thr=score_thr)
    else:
        from mmseg.visualization import SegLocalVisualizer as TaskVisualizer
        options = dict(with_labels=True)
    visualizer = TaskVisualizer.get_instance(name)
    visualizer.dataset_meta = model.dataset_meta
    visualizer.add_datasample('result', rgb, result, draw_gt=False, out_file=out_file, **options)
