"""data subjects' requests and retention (issue 12, points 6 and 7)

Data subjects' requests with their working-day deadlines (Decree 356/2025/NĐ-CP); a procedure's retention of its
closed dossiers' photos and personal data, and when a dossier's were purged; a person's restriction of processing
and anonymisation. Existing rows: no restriction, nothing purged, retention from the configured default.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 05:49:27.296430

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('data_subject_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('access', 'export', 'rectify', 'restrict', 'erase', name='data_request_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('on_behalf', sa.Boolean(), nullable=False),
    sa.Column('identity_method', sa.String(length=32), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('corrections', sa.JSON(), nullable=True),
    sa.Column('state', sa.Enum('received', 'acknowledged', 'answered', name='data_request_state', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledge_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('original_answer_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deadline_source', sa.String(length=200), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('extended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('extension_count', sa.Integer(), nullable=False),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_text', sa.Text(), nullable=True),
    sa.Column('handled_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('extension_count BETWEEN 0 AND 1', name=op.f('ck_data_subject_request_dsr_at_most_one_extension')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_data_subject_request_agency_id_agency')),
    sa.ForeignKeyConstraint(['handled_by_id'], ['user_account.id'], name=op.f('fk_data_subject_request_handled_by_id_user_account')),
    sa.ForeignKeyConstraint(['requester_id'], ['user_account.id'], name=op.f('fk_data_subject_request_requester_id_user_account')),
    sa.ForeignKeyConstraint(['subject_id'], ['person.id'], name=op.f('fk_data_subject_request_subject_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_subject_request'))
    )
    with op.batch_alter_table('data_subject_request', schema=None) as batch_op:
        batch_op.create_index('ix_data_subject_request_agency_state', ['agency_id', 'state', 'answer_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_subject_request_subject_id'), ['subject_id'], unique=False)

    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photos_purged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('personal_data_purged_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('processing_restricted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photo_retention_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('personal_data_retention_days', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_procedure_photo_retention'),
                                         'photo_retention_days IS NULL OR photo_retention_days >= 0')
        batch_op.create_check_constraint(op.f('ck_procedure_personal_data_retention'),
                                         'personal_data_retention_days IS NULL OR personal_data_retention_days >= 0')



def downgrade():
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_procedure_personal_data_retention'), type_='check')
        batch_op.drop_constraint(op.f('ck_procedure_photo_retention'), type_='check')
        batch_op.drop_column('personal_data_retention_days')
        batch_op.drop_column('photo_retention_days')

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
        batch_op.drop_column('processing_restricted_at')

    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_column('personal_data_purged_at')
        batch_op.drop_column('photos_purged_at')

    with op.batch_alter_table('data_subject_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_subject_request_subject_id'))
        batch_op.drop_index('ix_data_subject_request_agency_state')

    op.drop_table('data_subject_request')
