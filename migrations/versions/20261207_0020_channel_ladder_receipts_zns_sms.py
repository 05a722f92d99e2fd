"""the channel ladder: receipts on push deliveries, ZNS and SMS deliveries, followers without an account (issue 14)

* push_delivery: ``step`` (the rung of the ladder), ``shown_at`` and ``opened_at`` (the service worker's receipts),
  and the statuses 'shown', 'opened' and 'skipped'. The status column is a VARCHAR guarded by the CHECK constraint
  of server.enums.enum_type, which autogenerate does not compare: it is recreated here by hand (batch mode).
* inbox_message: ``user_id`` may be empty for a follower without an account (``person_id``), and ``reached_at``,
  ``reached_channel``: the first receipt, on any channel; an index on ``created_at`` (the monthly cost figures).
* push_subscription: ``last_shown_at``, ``retired_at``, ``retired_reason`` (subscription health).
* consent_record: ``address`` (the phone a Zalo or SMS consent is for) and one consent in force per person,
  purpose and channel for a person without an account.
* channel_delivery: the ZNS and SMS outbox (server/channels/models.py).

Existing rows need nothing: every delivery so far is the first rung (step 0), and no receipt was ever recorded.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 14:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

import server.types


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

_OLD_STATUSES = ('queued', 'sending', 'sent', 'failed', 'expired', 'withheld')
_NEW_STATUSES = ('queued', 'sending', 'sent', 'shown', 'opened', 'failed', 'expired', 'withheld', 'skipped')
_PERSON_IN_FORCE = "user_id IS NULL AND withdrawn_at IS NULL AND channel IS NOT NULL"


def _status_check(values):
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    with op.batch_alter_table('push_delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('step', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('shown_at', server.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('opened_at', server.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_push_delivery_delivery_status'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_push_delivery_delivery_status'), _status_check(_NEW_STATUSES))

    with op.batch_alter_table('inbox_message', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reached_at', server.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reached_channel', sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f('ix_inbox_message_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_message_created_at'), ['created_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_inbox_message_person_id_person'), 'person', ['person_id'], ['id'])

    with op.batch_alter_table('push_subscription', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_shown_at', server.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retired_at', server.types.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retired_reason', sa.String(length=200), nullable=True))

    with op.batch_alter_table('consent_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=16), nullable=True))
        batch_op.create_index('uq_consent_record_person_in_force', ['person_id', 'purpose', 'channel'], unique=True,
                              sqlite_where=sa.text(_PERSON_IN_FORCE), postgresql_where=sa.text(_PERSON_IN_FORCE))

    op.create_table('channel_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('push', 'zalo', 'sms', name='channel_delivery_channel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('phone_e164', sa.String(length=16), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum(*_NEW_STATUSES, name='channel_delivery_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', server.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', server.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', server.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', server.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('shown_at', server.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('opened_at', server.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('provider', sa.String(length=32), nullable=True),
    sa.Column('provider_message_id', sa.String(length=64), nullable=True),
    sa.Column('tracking_id', sa.String(length=48), nullable=False),
    sa.Column('cost_vnd', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['inbox_message.id'], name=op.f('fk_channel_delivery_message_id_inbox_message')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_delivery')),
    sa.UniqueConstraint('message_id', 'channel', name='uq_channel_delivery_message_channel'),
    sa.UniqueConstraint('tracking_id', name=op.f('uq_channel_delivery_tracking_id'))
    )
    with op.batch_alter_table('channel_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_channel_delivery_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_channel_delivery_message_id'), ['message_id'], unique=False)
        batch_op.create_index('ix_channel_delivery_provider_message', ['provider', 'provider_message_id'], unique=False)


def downgrade():
    op.drop_table('channel_delivery')
    with op.batch_alter_table('consent_record', schema=None) as batch_op:
        batch_op.drop_index('uq_consent_record_person_in_force', sqlite_where=sa.text(_PERSON_IN_FORCE),
                            postgresql_where=sa.text(_PERSON_IN_FORCE))
        batch_op.drop_column('address')
    with op.batch_alter_table('push_subscription', schema=None) as batch_op:
        batch_op.drop_column('retired_reason')
        batch_op.drop_column('retired_at')
        batch_op.drop_column('last_shown_at')
    # Messages of followers without an account have no place in the older schema.
    op.execute("DELETE FROM push_delivery WHERE message_id IN (SELECT id FROM inbox_message WHERE user_id IS NULL)")
    op.execute("DELETE FROM inbox_message WHERE user_id IS NULL")
    with op.batch_alter_table('inbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_inbox_message_person_id_person'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_inbox_message_created_at'))
        batch_op.drop_index(batch_op.f('ix_inbox_message_person_id'))
        batch_op.drop_column('reached_channel')
        batch_op.drop_column('reached_at')
        batch_op.drop_column('person_id')
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
    op.execute("UPDATE push_delivery SET status = 'sent' WHERE status IN ('shown', 'opened')")
    op.execute("UPDATE push_delivery SET status = 'failed' WHERE status = 'skipped'")
    with op.batch_alter_table('push_delivery', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_push_delivery_delivery_status'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_push_delivery_delivery_status'), _status_check(_OLD_STATUSES))
        batch_op.drop_column('opened_at')
        batch_op.drop_column('shown_at')
        batch_op.drop_column('step')
