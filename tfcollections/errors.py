"""The package's exceptions and warnings: one hierarchy, to catch ours apart from TF's."""


class TfCollectionsError(Exception):
    """Base class of every error raised by tfcollections."""


class TensorFlowMissingError(TfCollectionsError, ImportError):
    """TensorFlow is needed for this call but is not installed."""


class UsageError(TfCollectionsError):
    """Bad command line, configuration or input file of a command-line tool: exit code 2."""


class EagerModeError(TfCollectionsError):
    """A graph-collection call was made while eager execution is on and no graph was given."""


class NotInCollectionError(TfCollectionsError, ValueError):
    """`remove` was asked for a value the collection does not hold."""


class EmptyCollectionError(TfCollectionsError, ValueError):
    """A total was asked of a collection (and scope) that holds nothing."""


class LossTermError(TfCollectionsError, ValueError):
    """A loss collection holds a term add_n cannot sum: not a scalar, or not a float."""


class UnknownTargetError(TfCollectionsError, ValueError):
    """A freeze target matches none of the optimizer's candidate variables."""


class InspectError(TfCollectionsError):
    """A TARGET of the tfcollections CLI that cannot be read: the message names it."""


class TrainOpStateError(TfCollectionsError, RuntimeError):
    """A dynamic-optimizer call came before the train op was built, or without a session."""


class StaleTrainOpWarning(UserWarning):
    """TRAINABLE_VARIABLES changed after a train op was built: that op still updates the old set."""
