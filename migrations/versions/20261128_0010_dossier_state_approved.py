"""dossier.state: the value 'approved' (result signed, waiting to be handed to the one-stop desk)

Approval and "the result is ready at the desk" (DVCQG status 9) are now two steps: APPROVE leads to 'approved',
MARK_RESULT_READY to 'resolved'. The state column is a VARCHAR guarded by the CHECK constraint of
server.enums.enum_type, which autogenerate does not compare: it is recreated here by hand (batch mode, so that
SQLite copies the table).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 12:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_OLD = ('draft', 'online_submitted', 'guided_incomplete', 'refused', 'received', 'in_process',
        'awaiting_supplement', 'awaiting_payment', 'pending_approval', 'resolved', 'returned', 'stopped',
        'withdrawn')
_NEW = _OLD[:9] + ('approved',) + _OLD[9:]


def _check(values):
    return "state IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def _recreate(values):
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_dossier_dossier_state'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_dossier_dossier_state'), _check(values))


def upgrade():
    _recreate(_NEW)


def downgrade():
    # Before this revision an approval was the result itself; the old schema has no place for a signed result
    # not yet at the desk, so such dossiers go back to waiting for approval (their history keeps the approval).
    op.execute("UPDATE dossier SET state = 'pending_approval' WHERE state = 'approved'")
    _recreate(_OLD)
