"""Models and rule sets in service: so an auditor can tell which version raised which alert.

An analyst puts a model (a scoring model or a set of anomaly rules) in service by recording its
version, the digest of the data it was trained or calibrated on, the digest of its parameters
(what anyone holding the file can recompute), and its evaluation figures as integers (counts, and
rates in basis points). Every alert filed through the reports' ``analytics`` channel must name a
model in service (``reports.file``); retiring a model stops new alerts naming it, while the
alerts already filed keep pointing at the version that raised them. A model never decides: it
only opens tasks for people.

State keys::

    models/model/<model>    {id, kind, version, training_digest, parameters_digest, evaluation, organisation, region, status, ...}
"""

import re
from typing import Any, Callable

from reliefledger.ledger import limits
from reliefledger.ledger.contracts.arguments import require_choice, require_fields, require_integer, require_string
from reliefledger.ledger.contracts.authorisation import require_role_in_region
from reliefledger.ledger.contracts.context import TransactionContext
from reliefledger.ledger.contracts.registry import DIGEST_PATTERN
from reliefledger.ledger.genesis import IDENTIFIER_PATTERN
from reliefledger.ledger.results import Rejection, ResultCode

ANALYST = "analyst"
"""Staff who put models in service and file their alerts (through the reports' analytics channel)."""
MODEL_KINDS = ("anomaly_rules", "anomaly_model", "discovery_model")
VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$")
FIGURE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
FIGURES_MAX = 64
REASON_MAX = 500


def get_model_key(model_id: str) -> str:
    """State key of a model."""
    return f"models/model/{model_id}"


def require_model_in_service(state: Any, model_id: Any) -> dict[str, Any]:
    """The model an alert names, which must exist and be in service (for ``reports.file``)."""
    if type(model_id) is not str or not IDENTIFIER_PATTERN.fullmatch(model_id):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, "model_id does not have the required form")
    model = state.get(get_model_key(model_id))
    if model is None:
        raise Rejection(ResultCode.MODEL_NOT_FOUND, f"no model {model_id} is registered")
    if model["status"] != "in_service":
        raise Rejection(ResultCode.MODEL_RETIRED, f"model {model_id} was retired")
    return model


def process_register_model(context: TransactionContext, args: dict[str, Any]) -> None:
    """Put a model in service with its version, data and parameter digests, and evaluation."""
    require_fields(args, {"model_id", "kind", "version", "training_digest", "parameters_digest", "evaluation"})
    require_role_in_region(context, (ANALYST,), context.signer["region"])
    model_id = require_string(args, "model_id", IDENTIFIER_PATTERN)
    if context.state.get(get_model_key(model_id)) is not None:
        raise Rejection(ResultCode.MODEL_EXISTS, f"model {model_id} exists; a new version is a new model id")
    evaluation = args["evaluation"]
    if type(evaluation) is not dict or not 1 <= len(evaluation) <= FIGURES_MAX or not all(type(name) is str and FIGURE_PATTERN.fullmatch(name) for name in evaluation):
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"evaluation maps 1 to {FIGURES_MAX} figure names to integers")
    figures = {name: require_integer(evaluation, name, 0, limits.INTEGER_ABSOLUTE_MAX) for name in sorted(evaluation)}
    context.state.put(get_model_key(model_id), {
        "evaluation": figures, "id": model_id, "kind": require_choice(args, "kind", MODEL_KINDS), "organisation": context.signer["organisation"],
        "parameters_digest": require_string(args, "parameters_digest", DIGEST_PATTERN), "region": context.signer["region"],
        "registered_by": context.envelope.body.signer, "registered_height": context.environment.height, "retired": None, "status": "in_service",
        "training_digest": require_string(args, "training_digest", DIGEST_PATTERN), "version": require_string(args, "version", VERSION_PATTERN),
    })


def process_retire_model(context: TransactionContext, args: dict[str, Any]) -> None:
    """Take a model out of service, with the reason; alerts already filed keep naming it."""
    require_fields(args, {"model_id", "reason"})
    model = require_model_in_service(context.state, args["model_id"])
    require_role_in_region(context, (ANALYST,), model["region"])
    if context.signer["organisation"] != model["organisation"]:
        raise Rejection(ResultCode.NOT_AUTHORISED, f"only {model['organisation']} retires its model")
    reason = args["reason"]
    if type(reason) is not str or not 1 <= len(reason) <= REASON_MAX:
        raise Rejection(ResultCode.INVALID_ARGUMENTS, f"reason is 1 to {REASON_MAX} characters")
    context.state.put(get_model_key(model["id"]), {**model, "retired": {"height": context.environment.height, "reason": reason,
                                                                       "by": context.envelope.body.signer}, "status": "retired"})


ACTIONS: dict[str, Callable[[TransactionContext, dict[str, Any]], None]] = {
    "register_model": process_register_model,
    "retire_model": process_retire_model,
}
