/*
 * cli_errors.c - what xe says about an API error: a sentence for the
 * person at the terminal, then each parameter as "name: value" (the
 * names from the schema's error table). A code without a sentence here
 * goes to the client as the protocol's Error message, which xe prints
 * as the code and its parameters.
 *
 * The sentences are ours; the codes and parameter names are the
 * XenAPI's, so scripts that read the "name: value" lines read ours.
 */
#include "cli/cli.h"

#include <string.h>

static const struct {
    const char *code, *text;
} cli_error_texts[] = {
    {"CANNOT_CONTACT_HOST", "The host could not be reached."},
    {"DEFAULT_SR_NOT_FOUND", "The pool has no default SR, or it is gone."},
    {"HANDLE_INVALID", "The object is not in the database (it may have been destroyed)."},
    {"HOST_NOT_ENOUGH_FREE_MEMORY", "The host does not have the free memory the VM needs."},
    {"HOST_OFFLINE", "The host is not live."},
    {"INTERNAL_ERROR", "The server failed to handle the request (an internal error)."},
    {"INVALID_VALUE", "A value given is not one the field accepts."},
    {"LICENCE_RESTRICTION", "The licence does not allow this operation."},
    {"MAP_DUPLICATE_KEY", "The map already has this key."},
    {"MEMORY_CONSTRAINT_VIOLATION",
     "The memory limits must satisfy static-min <= dynamic-min <= dynamic-max <= static-max."},
    {"MESSAGE_METHOD_UNKNOWN", "The server does not implement this operation yet."},
    {"MESSAGE_PARAMETER_COUNT_MISMATCH", "The operation was given the wrong number of values."},
    {"NO_HOSTS_AVAILABLE", "No host can run the VM now."},
    {"NOT_IMPLEMENTED", "The server does not implement this operation yet."},
    {"OPERATION_NOT_ALLOWED", "The operation is not allowed now."},
    {"OTHER_OPERATION_IN_PROGRESS", "Another operation on the object is in progress."},
    {"PERMISSION_DENIED", "The session's roles do not allow this."},
    {"RBAC_PERMISSION_DENIED", "The session's roles do not allow this operation."},
    {"SESSION_AUTHENTICATION_FAILED", "The user name or password is not right."},
    {"SESSION_INVALID", "The session is not valid (it may have ended)."},
    {"SR_NOT_ATTACHED", "The SR is not attached to the host."},
    {"TASK_CANCELLED", "The task was cancelled."},
    {"UUID_INVALID", "No object of this class has the uuid."},
    {"VALUE_NOT_SUPPORTED", "The value is not supported for this field."},
    {"VM_BAD_POWER_STATE", "The VM is not in the power state the operation needs."},
    {"VM_HVM_REQUIRED", "The VM must be an HVM guest for this."},
    {"VM_IS_TEMPLATE", "The operation cannot be done on a template."},
    {"VM_MISSING_PV_DRIVERS", "The VM has no PV drivers for this operation."},
    {"VM_REQUIRES_SR", "The VM needs an SR that cannot be reached."},
    {"VM_SHUTDOWN_TIMEOUT", "The VM did not shut down in time."},
    {"XENAPI_MISSING_PLUGIN", "The host has no plugin of that name."},
};

const char *cli_error_text(const char *code)
{
    for (size_t i = 0; i < sizeof(cli_error_texts) / sizeof(cli_error_texts[0]); i++)
        if (strcmp(cli_error_texts[i].code, code) == 0)
            return cli_error_texts[i].text;
    return NULL;
}
